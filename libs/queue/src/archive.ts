import { Inject, Injectable } from '@nestjs/common';
import { redisCall } from './errors/queue-error';
import { queueKeys, queueRegistryKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { claimArchive, settleArchive } from './scripts/queue-scripts';
import { TaskRecord } from './task';
import { toTaskRecordWithoutBodies } from './task-record';

/** A task taken from a queue's archive index, as the hash held it when claimed. */
export interface ArchivedTask {
  /** The hash as a record; its payload and result are the JSON text below. */
  record: Omit<TaskRecord, 'payload' | 'result'>;
  /** The hash's revision: the row is written with it, and the entry settled only if it still holds. */
  rev: number;
  /** The payload and result as stored (JSON text), so a store keeps them byte for byte. */
  payloadJson: string;
  resultJson: string | null;
  /** The uniqueness lock the task holds while unfinished (its key) and its window, for a retry to take again. */
  uniqueLock: string | null;
  uniqueForMs: number | null;
}

/** What a retry needs to bring a finished task back from its PostgreSQL record (QueueAdmin.restore). */
export interface RestorableTask {
  id: string;
  /** Newer than any revision written of the task: the archiver removes the record with it. */
  rev: number;
  type: string;
  payloadJson: string;
  priority: number;
  maxRetries: number;
  timeoutMs: number;
  createdAt: number;
  /** The attempt history as stored (a JSON array of runs, epoch ms), kept as it is. */
  historyJson: string;
  lastError: string | null;
  scheduleId: string | null;
  scheduledAt: number | null;
  uniqueLock: string | null;
  uniqueForMs: number | null;
  /** The task's own backoff as the hash stores it (null: its type's applies). */
  backoff: string | null;
}

export interface ArchiveClaim {
  /** Redis clock at the claim (ms). */
  now: number;
  /** Entries dropped because their hash was gone (nothing to write). */
  dropped: number;
  tasks: ArchivedTask[];
}

export interface ArchiveSettled {
  /** Entries that left the index ('written') or are due again ('failed'). */
  settled: number;
  /** Task hashes deleted from Redis ('written' only). */
  deleted: number;
  /** Entries whose revision moved on since the claim; they stay for the next claim. */
  kept: number;
}

/**
 * The Redis side of the PostgreSQL result store (RESULTS_BACKEND=postgres): each queue's archive
 * index holds the finished tasks PostgreSQL has yet to get. An archiver claims a batch with a lease,
 * writes it, then settles it: the hashes leave Redis only after the write is committed, and only if
 * they did not change meanwhile. Several archivers may run at once; leases keep them apart.
 */
@Injectable()
export class QueueArchive {
  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  /** Every queue the registry knows: tasks of any of them can finish (a cancel needs no worker). */
  async queues(): Promise<string[]> {
    return redisCall('archiveQueues', () => this.redis.smembers(queueRegistryKey(this.options.prefix)));
  }

  /** Up to `max` due entries of the queue's archive, leased for `leaseMs`, at most about `byteBudget` of hashes. */
  async claim(queue: string, max: number, leaseMs: number, byteBudget: number): Promise<ArchiveClaim> {
    const keys = queueKeys(this.options.prefix, queue);
    const claimed = await redisCall('claimArchive', () =>
      claimArchive.run(this.redis, keys, { taskPrefix: keys.taskPrefix, max, leaseMs, byteBudget }),
    );
    const tasks = claimed.tasks.map(({ id, hash }): ArchivedTask => ({
      record: toTaskRecordWithoutBodies(id, queue, hash),
      rev: Number(hash.rev ?? 0),
      payloadJson: hash.payload ?? 'null',
      resultJson: hash.result ? hash.result : null,
      uniqueLock: hash.unique_key || null,
      uniqueForMs: hash.unique_for_ms ? Number(hash.unique_for_ms) : null,
    }));
    return { now: claimed.now, dropped: claimed.dropped, tasks };
  }

  /** After the PostgreSQL transaction: 'written' drops what it committed, 'failed' makes it due again. */
  async settle(
    queue: string,
    outcome: 'written' | 'failed',
    tasks: readonly { id: string; rev: number }[],
  ): Promise<ArchiveSettled> {
    if (!tasks.length) return { settled: 0, deleted: 0, kept: 0 };
    const keys = queueKeys(this.options.prefix, queue);
    return redisCall('settleArchive', () =>
      settleArchive.run(this.redis, keys, { taskPrefix: keys.taskPrefix, outcome, tasks: [...tasks] }),
    );
  }

  /** Entries waiting in each queue's archive index (claimed ones included). */
  async pending(queues: readonly string[]): Promise<Map<string, number>> {
    const counts = await redisCall('archivePending', () =>
      Promise.all(queues.map((queue) => this.redis.zcard(queueKeys(this.options.prefix, queue).archive))),
    );
    return new Map(queues.map((queue, i) => [queue, Number(counts[i])]));
  }
}
