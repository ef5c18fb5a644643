#!/usr/bin/env node
/**
 * `npm run keys -- create --name ci --scopes submit,read [--queues emails]`, `... list`, `... revoke <id>`:
 * API keys from a shell, on the Redis the api uses (REDIS_URL, QUEUE_PREFIX, ... as for the api). Runs the
 * built api's `keys` command (building first when dist/ is missing); in a container:
 * `docker compose exec api node dist/apps/api/main.js keys list`.
 */
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');

if (!existsSync('dist/apps/api/main.js')) {
  const built = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const run = spawnSync(process.execPath, ['dist/apps/api/main.js', 'keys', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
