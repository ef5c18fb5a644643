import { Inject, Injectable, Logger } from '@nestjs/common';
import { MIGRATION_LOCK_MS, SchemaMigration } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { ServiceLoop } from '@app/queue';

/**
 * Runs the key schema migration (SchemaMigration, ADR 12) in the background from boot until the data
 * is in this release's schema: every worker tries, one holds the lock and migrates, the others look
 * again after the lock's lifetime, so a worker killed mid-migration is taken over by another. The
 * worker serves meanwhile (this release reads the earlier schema too).
 */
@Injectable()
export class SchemaUpgrader {
  private readonly logger = new Logger(SchemaUpgrader.name);
  private readonly loop = new ServiceLoop('key schema migration', () => this.runOnce(), this.logger, {
    backoff: { baseMs: MIGRATION_LOCK_MS, maxMs: MIGRATION_LOCK_MS },
    failureMessage: (error) =>
      `key schema migration failed (tried again in ${MIGRATION_LOCK_MS} ms; the apps serve meanwhile): ${error.message}`,
  });

  constructor(
    private readonly migration: SchemaMigration,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
  ) {}

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** A pass: migrates, or sleeps while another process holds the lock; stops the loop once current. */
  async runOnce(): Promise<number | void> {
    const result = await this.migration.migrate(this.options.keyMigrationBatch);
    if (result.outcome === 'busy') return MIGRATION_LOCK_MS;
    if (result.outcome === 'migrated') {
      this.logger.log({ msg: 'key schema migrated to this release', ...result });
    }
    void this.loop.stop();
  }
}
