#!/usr/bin/env node
/**
 * `npx taskq ...` (the package's bin): runs the built CLI, dist/apps/cli/main.js, building it first when it is
 * missing. The CLI's source is apps/cli/src; `npm run build` builds it with the api and the worker.
 */
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const main = path.join(root, 'dist', 'apps', 'cli', 'main.js');
if (!existsSync(main)) {
  const built = spawnSync('npx', ['nest', 'build', 'cli'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
require(main);
