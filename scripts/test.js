#!/usr/bin/env node
/**
 * `npm test`: the whole check a change must pass.
 *   1. lint (eslint + prettier, including the libs' dependency direction), no import cycles (madge), typecheck
 *   2. build (the e2e and fault tests run the built apps as real processes)
 *   3. every jest project (unit, int, e2e, faults) against REDIS_URL when a Redis answers there,
 *      else against a throwaway redis-server on a free port
 *   4. with CI=true (or --deploy): the deploy checks (compose, promtool, manifests, dashboards)
 * Ends with one line "N passed, N failed". Flags: --quick (skip lint, typecheck and deploy checks),
 * anything else is passed to jest (e.g. --selectProjects unit int).
 */
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { redisUrlOrThrowaway } = require('./redis-dev');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const deploy = !quick && (args.includes('--deploy') || /^(1|true)$/i.test(process.env.CI ?? ''));
const jestArgs = args.filter((arg) => !['--quick', '--deploy'].includes(arg));

let passed = 0;
let failed = 0;

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

  const redis = await redisUrlOrThrowaway({ persistent: false });
  const results = '.jest-results.json';
  rmSync(results, { force: true });
  try {
    const env = { ...process.env, REDIS_URL: redis.url };
    console.log(`\n== jest (Redis at ${redis.url})`);
    spawnSync('npx', ['jest', '--runInBand', '--ci', '--json', `--outputFile=${results}`, ...jestArgs], {
      stdio: 'inherit',
      env,
    });
  } finally {
    await redis.stop();
  }
  if (existsSync(results)) {
    const summary = JSON.parse(readFileSync(results, 'utf8'));
    passed += summary.numPassedTests;
    failed += summary.numFailedTests + summary.numRuntimeErrorTestSuites;
    if (summary.numTotalTests === 0) failed++;
  } else {
    failed++;
  }

  if (deploy) {
    step('deploy checks', 'bash', ['scripts/ci/check-deploy.sh']);
    step('dashboard queries', 'bash', [
      'scripts/ci/check-dashboards.sh',
      '--image-layout',
      '--report',
      'docs/deploy/dashboard-check.md',
    ]);
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
