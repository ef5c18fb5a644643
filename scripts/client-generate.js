#!/usr/bin/env node
/**
 * `npm run client:generate`: libs/client/src/schema.ts from the document the api serves. Starts the built api
 * (building first when dist/ is missing) on a free port, without authentication, on loopback, with default limits
 * and a throwaway key prefix, on REDIS_URL or a throwaway redis-server; reads GET /docs-json; stops it.
 */
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { redisUrlOrThrowaway, freePort } = require('./redis-dev');
const { renderClientSchema, SCHEMA_PATH } = require('./client-schema');

const ROOT = path.join(__dirname, '..');
const MAIN = path.join(ROOT, 'dist', 'apps', 'api', 'main.js');
const START_LIMIT_MS = 30_000;

async function readDocument(url) {
  const deadline = Date.now() + START_LIMIT_MS;
  for (;;) {
    try {
      const res = await fetch(`${url}/docs-json`);
      if (res.ok) return await res.json();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the api did not serve ${url}/docs-json within ${START_LIMIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main() {
  if (!existsSync(MAIN)) {
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (built.status !== 0) process.exit(built.status ?? 1);
  }
  const redis = await redisUrlOrThrowaway({ persistent: false });
  const [port, metricsPort] = [await freePort(), await freePort()];
  // Only what the document needs: the defaults of every limit it states, whatever this shell sets.
  const env = {
    PATH: process.env.PATH ?? '',
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `taskq-client-generate-${process.pid}`,
    AUTH_MODE: 'none',
    HOST: '127.0.0.1',
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'error',
  };
  const api = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const exited = new Promise((_, reject) =>
      api.once('exit', (code) => reject(new Error(`the api exited (${code})`))),
    );
    const document = await Promise.race([readDocument(`http://127.0.0.1:${port}`), exited]);
    writeFileSync(SCHEMA_PATH, await renderClientSchema(document));
    console.log(`wrote ${path.relative(ROOT, SCHEMA_PATH)}`);
  } finally {
    api.kill('SIGKILL');
    await redis.stop();
  }
}

main().catch((error) => {
  console.error(`client:generate failed: ${error.message}`);
  process.exit(1);
});
