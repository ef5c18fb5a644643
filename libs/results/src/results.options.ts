/** What the result store needs; the apps build it from their validated config (RESULTS_*, DATABASE_URL). */
export interface ResultsModuleOptions {
  /** RESULTS_BACKEND: with `redis` no PostgreSQL is opened and the store is off. */
  backend: 'redis' | 'postgres';
  /** DATABASE_URL. */
  databaseUrl: string;
  /** DATABASE_PASSWORD: wins over a password in the URL. */
  databasePassword?: string;
  /** Connections this process opens at most. */
  poolMax: number;
  /** A statement running longer is cancelled (ms): a slow PostgreSQL fails a write, it does not hang it. */
  statementTimeoutMs: number;
  /** Name shown in pg_stat_activity. */
  applicationName: string;
}
