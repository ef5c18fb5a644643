#!/usr/bin/env node
/**
 * `npm test`: the whole check a change must pass.
 *   1. lint (eslint + prettier, including the libs' dependency direction), no import cycles (madge), typecheck
 *   2. build (the e2e and fault tests run the built apps as real processes)
 *   3. the jest projects unit, int, e2e and faults against REDIS_URL when a Redis answers there,
 *      else against a throwaway redis-server on a free port
 *   4. the int and e2e projects again against a Redis Cluster (3 masters + 3 replicas) and against a
 *      Sentinel group (master, replica, 3 sentinels), each started for the run by
 *      scripts/redis-topologies.js (TEST_REDIS_MODE=cluster|sentinel); then the failover project,
 *      which starts a cluster and a Sentinel group of its own and kills their masters under load
 *   5. with CI=true (or --deploy): the deploy checks (compose, promtool, manifests, dashboards, the
 *      dashboards again with the apps on a Redis Cluster)
 * Ends with one line "N passed, N failed". Flags: --quick (skip lint, typecheck, step 4 and the deploy
 * checks), anything else is passed to jest (e.g. --selectProjects unit int: only those projects run,
 * and step 4 runs only the selected ones among int, e2e and failover).
 */
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { redisUrlOrThrowaway } = require('./redis-dev');
const { startCluster, startSentinel } = require('./redis-topologies');

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
const STANDALONE_PROJECTS = ['unit', 'int', 'e2e', 'faults'];
const TOPOLOGY_PROJECTS = ['int', 'e2e'];
const wanted = (project) => !selected || selected.includes(project);

/** One jest run may take this long; the slowest (standalone, with the fault suite) takes about 8 minutes. */
const JEST_RUN_LIMIT_MS = 25 * 60_000;

let passed = 0;
let failed = 0;
const seconds = (ms) => `${(ms / 1000).toFixed(0)} s`;

/** One jest run of `projects` with `env` added; its tests join the count. */
function jest(title, projects, env, extra = []) {
  const results = '.jest-results.json';
  rmSync(results, { force: true });
  const began = Date.now();
  console.log(`\n== ${title}: ${projects.join(', ')}`);
  spawnSync(
    'npx',
    [
      'jest',
      '--runInBand',
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
    // A hung run is killed (and counted as failed below) instead of holding CI until its limit.
    { stdio: 'inherit', env: { ...process.env, ...env }, timeout: JEST_RUN_LIMIT_MS, killSignal: 'SIGKILL' },
  );
  if (!existsSync(results)) {
    failed++;
    return;
  }
  const summary = JSON.parse(readFileSync(results, 'utf8'));
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

function step(name, command, commandArgs, env = process.env) {
  console.log(`\n== ${name}: ${command} ${commandArgs.join(' ')}`);
  const status = spawnSync(command, commandArgs, { stdio: 'inherit', env }).status;
  if (status === 0) passed++;
  else {
    failed++;
    console.error(`== ${name} FAILED (exit ${status})`);
  }
  return status === 0;
}

async function main() {
  if (!quick) {
    step('lint', 'npx', ['eslint', '.']);
    step('format', 'npx', ['prettier', '--check', '.']);
    step('import cycles', 'npx', [
      'madge',
      '--circular',
      '--extensions',
      'ts',
      '--ts-config',
      'tsconfig.json',
      'apps',
      'libs',
    ]);
    step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  }
  if (!step('build', 'npm', ['run', 'build'])) return;

  const standalone = STANDALONE_PROJECTS.filter(wanted);
  if (standalone.length) {
    const redis = await redisUrlOrThrowaway({ persistent: false });
    try {
      jest(`jest (Redis at ${redis.url})`, standalone, { REDIS_URL: redis.url });
    } finally {
      await redis.stop();
    }
  }
  if (quick) return;

  // The same int and e2e suites on the other topologies. Tests that start a redis-server of their own
  // (OwnRedis: restarts, outages) run standalone whatever the mode; own-redis.int-spec tests OwnRedis
  // itself and is not run again.
  const topologyProjects = TOPOLOGY_PROJECTS.filter(wanted);
  if (topologyProjects.length) {
    // Both started at once (a few seconds each), then used one after the other.
    const began = Date.now();
    const started = await Promise.allSettled([startCluster({ masters: 3, replicas: 1 }), startSentinel()]);
    console.log(`\n== Redis Cluster and Sentinel group started in ${seconds(Date.now() - began)}`);
    const names = ['a Redis Cluster (3 masters + 3 replicas)', 'a Sentinel group (master, replica, 3 sentinels)'];
    for (const [i, result] of started.entries()) {
      if (result.status === 'rejected') {
        failed++;
        console.error(`== could not start ${names[i]}: ${result.reason.message}`);
        continue;
      }
      const topology = result.value;
      try {
        jest(`jest against ${names[i]} ${JSON.stringify(topology.testEnv)}`, topologyProjects, topology.testEnv, [
          '--testPathIgnorePatterns',
          'test/support/own-redis.int-spec.ts',
        ]);
      } finally {
        await topology.stop();
      }
    }
  }
  if (wanted('failover')) {
    jest('jest failover (a cluster and a Sentinel group of its own)', ['failover'], {});
  }
  if (deploy) {
    step('deploy checks', 'bash', ['scripts/ci/check-deploy.sh']);
    step('dashboard queries', 'bash', [
      'scripts/ci/check-dashboards.sh',
      '--image-layout',
      '--report',
      'docs/deploy/dashboard-check.md',
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
  .finally(() => {
    console.log(`\n${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
