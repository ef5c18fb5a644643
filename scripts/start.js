#!/usr/bin/env node
/**
 * `npm start`: the api and one worker together, for a first try (`docker compose up --build` is the
 * production-like way). Uses REDIS_URL when a Redis answers there; otherwise starts a local
 * redis-server for the session (data under .data/, AOF on) when one is installed, or says how to get one.
 * With REDIS_CLUSTER_NODES or REDIS_SENTINELS set, the apps use that instead and nothing is started.
 * Builds first when dist/ is missing. `--dev` runs both through `nest start --watch` (rebuild and restart on change).
 *
 * The api listens on 127.0.0.1 only and, unless AUTH_MODE is set, without authentication (AUTH_MODE=none),
 * so the README's first curl works as it is; it says so loudly. Anything reachable from elsewhere runs
 * with keys (docker compose, Kubernetes): see README "Authentication".
 */
const { spawn, spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { redisUrlOrThrowaway } = require('./redis-dev');

async function main() {
  const dev = process.argv.includes('--dev');
  let redis;
  const topology = ['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].find((name) => process.env[name]);
  try {
    redis = topology
      ? { url: `${topology}=${process.env[topology]}`, stop: async () => {} }
      : await redisUrlOrThrowaway({ persistent: true });
  } catch (error) {
    console.error(`\n${error.message}\n`);
    process.exit(1);
  }
  // Exactly one Redis setting reaches the apps.
  const env = topology ? { ...process.env, REDIS_URL: '' } : { ...process.env, REDIS_URL: redis.url };
  const apiEnv = { ...env, HOST: process.env.HOST ?? '127.0.0.1', AUTH_MODE: process.env.AUTH_MODE ?? 'none' };
  if (!dev && (!existsSync('dist/apps/api/main.js') || !existsSync('dist/apps/worker/main.js'))) {
    const built = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
    if (built.status !== 0) process.exit(built.status ?? 1);
  }
  // Stack traces name the TypeScript source: the bundle's source maps (nest start passes the flag itself).
  const run = (app) => {
    const appEnv = app === 'api' ? apiEnv : env;
    return dev
      ? spawn('npx', ['nest', 'start', app, '--watch'], { stdio: 'inherit', env: appEnv })
      : spawn(process.execPath, ['--enable-source-maps', `dist/apps/${app}/main.js`], {
          stdio: 'inherit',
          env: appEnv,
        });
  };
  const children = [run('api'), run('worker')];
  if (apiEnv.AUTH_MODE === 'none') {
    const line = '!'.repeat(78);
    console.error(
      `${line}\n` +
        `[taskq] AUTH_MODE=none: the api takes requests WITHOUT authentication, on ${apiEnv.HOST} only.\n` +
        '[taskq] For a first try on this machine. Anywhere else run with API keys (AUTH_MODE=api-key, the\n' +
        '[taskq] default): README "Authentication". Try keys here with: AUTH_MODE=api-key npm start\n' +
        `${line}`,
    );
  }
  console.error(
    `[taskq] api on http://localhost:${process.env.PORT ?? 8080} (docs at /docs, auth ${apiEnv.AUTH_MODE}), worker metrics on :9101, Redis at ${redis.url}\n` +
      `[taskq] try: curl -X POST localhost:${process.env.PORT ?? 8080}/submit -H 'Content-Type: application/json' -d '{"task_type":"email","payload":"hello@domain.com"}'`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) =>
            child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')),
          ),
      ),
    );
    await redis.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  for (const child of children) child.on('exit', () => void stop());
}

main();
