#!/usr/bin/env node
/**
 * `npm test`: builds the apps (the e2e tests run them as real processes), then runs every jest
 * project against REDIS_URL when a Redis answers there, else against a throwaway redis-server.
 */
const { spawnSync } = require('node:child_process');
const { redisUrlOrThrowaway } = require('./redis-dev');

async function main() {
  const redis = await redisUrlOrThrowaway({ persistent: false });
  const env = { ...process.env, REDIS_URL: redis.url };
  let status = 0;
  try {
    if (!process.argv.includes('--no-build')) {
      status = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', env }).status ?? 1;
    }
    if (status === 0) {
      const args = process.argv.slice(2).filter((arg) => arg !== '--no-build');
      status = spawnSync('npx', ['jest', '--runInBand', ...args], { stdio: 'inherit', env }).status ?? 1;
    }
  } finally {
    await redis.stop();
  }
  process.exit(status);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
