import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { redisCall } from '../errors/queue-error';
import { QueueKeys, queueKeys, schemaMigrationLockKey, schemaVersionKey } from '../keys/queue-keys';
import { QueueRegistry } from '../queue-registry';
import { QUEUE_OPTIONS } from '../queue.module-definition';
import { QueueModuleOptions } from '../queue.options';
import { InjectRedis } from '../redis/inject-redis.decorator';
import { compactTask, moveToReady } from '../scripts/migration-scripts';
import { QueueRedis } from '../scripts/script-loader';

/**
 * The key schema this release writes (ADR 12): 2 added the ready list and dropped stored defaults; 3 drops
 * the run settings equal to the schema's (max_retries 3, timeout_ms 60000) too.
 */
export const KEY_SCHEMA_VERSION = 3;

/** How long the lock outlives its holder's last batch: a process killed mid-migration is taken over after this. */
export const MIGRATION_LOCK_MS = 10_000;

/** Entries per script call: each is one short atomic step. */
const BATCH = 500;

/**
 * The indexes whose entries name the hashes to compact. The ready list only when the data is in schema 2,
 * whose release wrote it with stored run settings: before that only the move fills it, and it compacts what
 * it moves (a fresh deployment's first worker does not read a backlog it wrote itself).
 */
const INDEXED_STATES = ['scheduled', 'queued', 'retrying', 'active', 'succeeded', 'dead', 'cancelled'] as const;

export type MigrationOutcome =
  /** The data was already in this release's schema: nothing read or written. */
  | { outcome: 'current' }
  /** Another process holds the lock (it migrates now); call again later. */
  | { outcome: 'busy' }
  | { outcome: 'migrated'; queues: number; moved: number; compacted: number };

/**
 * Upgrades what an earlier release wrote under the prefix to this release's key schema, in place (ADR 12):
 * the priority-0 tasks the earlier schema queued in the `queued` sorted set move to the ready list (in
 * the order they would have run), and every task hash drops the fields that hold their default. Every
 * reader of this release takes the earlier forms as well, so the apps serve while it runs, and it is an
 * optimisation of memory, never a condition of correctness.
 *
 * Under a lock (one migrating process per deployment; another caller gets `busy`), in batches of one
 * short script each, every one idempotent: a process killed at any instant leaves a state this release
 * reads, and the next run (after the lock lapses) goes on where it stopped. `<prefix>:schema` is
 * written last. The worker runs it at boot and until it is done (SchemaUpgrader).
 */
@Injectable()
export class SchemaMigration {
  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
    private readonly registry: QueueRegistry,
  ) {}

  /** The schema version the data is in (1 when never migrated). */
  async version(): Promise<number> {
    const stored = await redisCall('schemaVersion', () => this.redis.get(schemaVersionKey(this.options.prefix)));
    return stored === null ? 1 : Number(stored);
  }

  /** `batch`: entries per script call (tests pass 1 to stretch a run out). */
  async migrate(batch = BATCH): Promise<MigrationOutcome> {
    const from = await this.version();
    if (from >= KEY_SCHEMA_VERSION) return { outcome: 'current' };
    const lockKey = schemaMigrationLockKey(this.options.prefix);
    const owner = randomUUID();
    const locked = await redisCall('schemaMigration', () =>
      this.redis.set(lockKey, owner, 'PX', MIGRATION_LOCK_MS, 'NX'),
    );
    if (locked !== 'OK') return { outcome: 'busy' };
    // Each batch renews the lock; a run that lost it (stalled past MIGRATION_LOCK_MS) stops at its next batch.
    const renew = async () => {
      const held = await redisCall('schemaMigration', () => this.redis.get(lockKey));
      if (held !== owner) throw new Error('the key schema migration lost its lock (stalled?): another process goes on');
      await redisCall('schemaMigration', () => this.redis.pexpire(lockKey, MIGRATION_LOCK_MS));
    };
    try {
      const queues = await this.registry.list();
      let moved = 0;
      let compacted = 0;
      for (const queue of queues) {
        const keys = queueKeys(this.options.prefix, queue);
        for (;;) {
          await renew();
          const n = await redisCall('schemaMigration', () =>
            moveToReady.run(this.redis, keys, { taskPrefix: keys.taskPrefix, batch }),
          );
          moved += n;
          if (n === 0) break;
        }
        compacted += await this.compactQueue(keys, batch, renew, from >= 2);
      }
      await renew();
      await redisCall('schemaMigration', () =>
        this.redis.set(schemaVersionKey(this.options.prefix), String(KEY_SCHEMA_VERSION)),
      );
      return { outcome: 'migrated', queues: queues.length, moved, compacted };
    } finally {
      // Only our own lock: compare, then delete (a lapsed lock another process took stays).
      const held = await this.redis.get(lockKey).catch(() => null);
      if (held === owner) await this.redis.del(lockKey).catch(() => undefined);
    }
  }

  /**
   * Compacts the hashes the queue's sorted-set indexes name, page by page (a task that moves between states
   * meanwhile may be read twice or not at all: compacting is idempotent, and a hash left as it was reads
   * the same). Returns the fields dropped.
   */
  private async compactQueue(
    keys: QueueKeys,
    batch: number,
    renew: () => Promise<void>,
    withReadyList: boolean,
  ): Promise<number> {
    let dropped = 0;
    const compactPage = async (ids: string[]) => {
      if (ids.length === 0) return;
      const pipeline = this.redis.pipeline();
      for (const id of ids) compactTask.queue(pipeline, { task: `${keys.taskPrefix}${id}` }, { id });
      for (const [error, n] of (await redisCall('schemaMigration', () => pipeline.exec())) ?? []) {
        if (error) throw error;
        dropped += compactTask.decode(n, { id: '' });
      }
    };
    for (const state of INDEXED_STATES) {
      for (let offset = 0; ; offset += batch) {
        await renew();
        const ids = await redisCall('schemaMigration', () =>
          this.redis.zrange(keys[state], offset, offset + batch - 1),
        );
        await compactPage(ids);
        if (ids.length < batch) break;
      }
    }
    // Claims pop the list's head meanwhile, so a page may skip a few entries: a hash left as it was reads the same.
    for (let offset = 0; withReadyList; offset += batch) {
      await renew();
      const ids = await redisCall('schemaMigration', () => this.redis.lrange(keys.ready, offset, offset + batch - 1));
      await compactPage(ids);
      if (ids.length < batch) break;
    }
    return dropped;
  }
}
