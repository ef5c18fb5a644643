import { Logger, Provider } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from './results.constants';
import { RESULTS_OPTIONS } from './results.module-definition';
import { ResultsModuleOptions } from './results.options';

const logger = new Logger('PostgreSQL');

/** DATABASE_URL with DATABASE_PASSWORD in it (pg lets a connection string's empty password win over `password`). */
export function withPassword(databaseUrl: string, password: string | undefined): string {
  if (!password) return databaseUrl;
  const url = new URL(databaseUrl);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/**
 * A pool for the postgres backend, built from the options; none for redis (nothing to connect to). `pg` is
 * loaded only here, so a deployment on the redis backend (the default) never holds it in memory.
 */
export async function createPool(options: ResultsModuleOptions): Promise<Pool | null> {
  if (options.backend !== 'postgres') return null;
  const { Pool } = await import('pg');
  const pool = new Pool({
    connectionString: withPassword(options.databaseUrl, options.databasePassword),
    max: options.poolMax,
    application_name: options.applicationName,
    // Fail fast while PostgreSQL is away: the archiver leaves tasks in Redis and tries again, the api
    // answers 503. Nothing waits on a dead server for long.
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 10_000,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs + 2000,
    idle_in_transaction_session_timeout: options.statementTimeoutMs + 5000,
    // Row locks are taken only by short statements (retention's batches skip locked rows): never wait long.
    options: '-c lock_timeout=5000',
  });
  // An idle client losing its connection (a PostgreSQL restart) is not an error of any call: without a
  // listener it would crash the process. The next checkout opens a new connection.
  pool.on('error', (error) => logger.warn({ msg: `idle PostgreSQL connection lost: ${error.message}` }));
  return pool;
}

export const pgPoolProvider: Provider = {
  provide: PG_POOL,
  inject: [RESULTS_OPTIONS],
  useFactory: createPool,
};
