/**
 * What `npm test` (and `npm run test:quick`) needs besides Node and npm, checked before anything runs, so a
 * machine without it is told in one line what to install instead of failing minutes later. The README's
 * Testing section lists the same programs with their Debian and Homebrew packages.
 */
const { spawnSync } = require('node:child_process');
const { answers } = require('./redis-dev');
const { findChromium, findNode24, findPostgresBin, onPath } = require('./find-tools');

const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Each prerequisite: how to install it, in one phrase. */
const INSTALL = {
  'redis-server': 'redis-server (Debian: redis-server; Homebrew: redis)',
  'redis-cli': 'redis-cli (Debian: redis-tools; Homebrew: redis)',
  postgresServerTools:
    "PostgreSQL's server programs initdb and pg_ctl (Debian: postgresql; Homebrew: postgresql@17; or TEST_POSTGRES_BIN)",
  chromium: 'Chromium (Debian: chromium; Homebrew: --cask chromium; or CHROMIUM_PATH)',
  'docker-compose': 'docker-compose (Debian: docker-compose; Homebrew: docker-compose)',
  promtool: 'promtool (Debian: prometheus; Homebrew: prometheus)',
  prometheus: 'prometheus (Debian: prometheus; Homebrew: prometheus)',
  kubectl: 'kubectl with kustomize (Homebrew: kubernetes-cli; the CI image has it)',
};

/** Whether a PostgreSQL answers at `url` (connects and runs SELECT 1); the error message otherwise. */
async function postgresProblem(url) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error.message || String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * What is missing for `plan`: { redisServer, redisCli, postgres, postgresServerTools, chromium, node24, deploy }
 * (each true when the run needs it). Returns { missing: string[], node24?: string }; installs the pinned Node 24
 * when the plan needs it and it is not there yet (the one download this check makes).
 */
async function checkPrerequisites(plan) {
  const missing = [];
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (plan.redisServer && !onPath('redis-server')) missing.push(INSTALL['redis-server']);
  else if (plan.redis && !onPath('redis-server') && !(await answers(redisUrl))) {
    missing.push(`a Redis at ${redisUrl} (REDIS_URL), or ${INSTALL['redis-server']}`);
  }
  if (plan.redisCli && !onPath('redis-cli')) missing.push(INSTALL['redis-cli']);
  if (plan.postgres) {
    const problem = await postgresProblem(TEST_POSTGRES_URL);
    if (problem) {
      missing.push(
        `a PostgreSQL at ${TEST_POSTGRES_URL} (TEST_POSTGRES_URL; Debian: postgresql; Homebrew: postgresql@17): ${problem}`,
      );
    }
  }
  if (plan.postgresServerTools && !findPostgresBin()) missing.push(INSTALL.postgresServerTools);
  if (plan.chromium && !findChromium()) missing.push(INSTALL.chromium);
  if (plan.deploy) {
    for (const tool of ['docker-compose', 'promtool', 'prometheus', 'kubectl']) {
      if (!onPath(tool)) missing.push(INSTALL[tool]);
    }
  }
  let node24;
  if (plan.node24 && missing.length === 0) {
    const found = findNode24();
    if ('problem' in found) missing.push(found.problem);
    else node24 = found.path;
  } else if (plan.node24) {
    const found = findNode24(process.env, { install: false });
    if ('problem' in found) missing.push(found.problem);
  }
  return { missing, node24 };
}

/** `node -v` of a binary, for the run's log. */
function nodeVersion(file) {
  return spawnSync(file, ['-v'], { encoding: 'utf8' }).stdout.trim();
}

module.exports = { checkPrerequisites, nodeVersion };
