import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import { Client, Pool } from 'pg';

/**
 * The PostgreSQL the tests use (`.ci/run` makes sure one answers): a server URL whose database is the
 * maintenance one; every test run creates a database of its own on it and drops it after.
 */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** migrations/ at the repository root: what `npm run migrate` applies. */
export const MIGRATIONS_DIR = join(__dirname, '..', '..', 'migrations');

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Applies every pending migration the way `npm run migrate` does (node-pg-migrate: same directory,
 * same bookkeeping table, its advisory lock); returns the names applied.
 */
export async function migrateUp(databaseUrl: string): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    log: () => undefined,
  });
  return applied.map((migration) => migration.name);
}

/** A database of one test (file), migrated, dropped by `drop()`. */
export class TestDatabase {
  private pool?: Pool;

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly serverUrl: string,
  ) {}

  /** Creates `taskq_test_<label>_<random>` on the server and applies the migrations (unless `migrate: false`). */
  static async create(
    label: string,
    { serverUrl = TEST_POSTGRES_URL, migrate = true }: { serverUrl?: string; migrate?: boolean } = {},
  ): Promise<TestDatabase> {
    const name = `taskq_test_${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
    await admin(serverUrl, `CREATE DATABASE ${name}`);
    const db = new TestDatabase(name, withDatabase(serverUrl, name), serverUrl);
    if (migrate) await migrateUp(db.url);
    return db;
  }

  /** A pool on the database, for the test's own queries (closed by drop). */
  get sql(): Pool {
    if (!this.pool) {
      this.pool = new Pool({ connectionString: this.url, max: 4 });
      // An idle connection the server ends (a restart, DROP ... WITH (FORCE)) is emitted on the pool; a
      // pool without a listener throws it out of the test file. A query on a broken connection still fails.
      this.pool.on('error', () => undefined);
    }
    return this.pool;
  }

  async drop(): Promise<void> {
    await this.pool?.end();
    this.pool = undefined;
    await admin(this.serverUrl, `DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
  }
}

async function admin(serverUrl: string, statement: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
