import { ApiKeyStore } from '@app/auth';
import { ClaimedTask, ScheduleStore } from '@app/queue';
import { newTask, QueueHarness } from './queue-harness';

/** What seedEveryState wrote: each task id by the state it was left in, and the other records. */
export interface EveryState {
  tasks: Record<string, { status: string; queue: string }>;
  scheduleId: string;
  apiKeyId: string;
}

/**
 * One deployment's worth of state under the harness's prefix, every kind a migration must carry: tasks
 * scheduled, queued at three priorities, active on a live lease, retrying, succeeded, dead and cancelled;
 * an idempotency key and a unique key still held; a paused queue with limits; a schedule; an API key with
 * limits of its own. Written through the library's own calls, so it is what this release writes.
 */
export async function seedEveryState(h: QueueHarness): Promise<EveryState> {
  const tasks: EveryState['tasks'] = {};
  const mark = (id: string, status: string, queue = 'mail') => (tasks[id] = { status, queue });
  const hour = 3_600_000;

  // Three to run now: one stays active, one succeeds, one dies; a fourth retries.
  const runs = await h.producer.enqueueMany([
    newTask('mail', { payload: { to: 'active@example.com' } }),
    newTask('mail', { payload: { to: 'ok@example.com' } }),
    newTask('mail', { payload: { to: 'dead@example.com' } }),
    newTask('mail', { payload: { to: 'retry@example.com' } }),
  ]);
  const claimed = new Map<string, ClaimedTask>((await h.consumer.claim('mail', 4)).tasks.map((t) => [t.id, t]));
  if (claimed.size !== 4) throw new Error(`claimed ${claimed.size} of 4`);
  mark(runs[0].id, 'active');
  await h.consumer.ack(claimed.get(runs[1].id)!, '{"sent":true}');
  mark(runs[1].id, 'succeeded');
  await h.consumer.fail(claimed.get(runs[2].id)!, { action: 'dead', reason: 'non_retryable', error: 'Error: bounced' });
  mark(runs[2].id, 'dead');
  await h.consumer.fail(claimed.get(runs[3].id)!, { action: 'retry', delayMs: hour, error: 'Error: try later' });
  mark(runs[3].id, 'retrying');

  for (const priority of [0, 0, 5, -3]) {
    mark((await h.producer.enqueue(newTask('mail', { priority, payload: { priority } }))).id, 'queued');
  }
  mark((await h.producer.enqueue(newTask('mail', { delayMs: hour }))).id, 'scheduled');
  const cancelled = await h.producer.enqueue(newTask('mail', { payload: 'withdrawn' }));
  await h.admin.cancel(cancelled.id);
  mark(cancelled.id, 'cancelled');
  mark((await h.producer.enqueue(newTask('mail', { idempotencyKey: 'order-42', payload: 42 }))).id, 'queued');
  mark(
    (await h.producer.enqueue(newTask('mail', { uniqueForMs: hour, uniqueKey: 'digest', payload: 'd' }))).id,
    'queued',
  );

  // A second queue, paused and limited, with a task waiting.
  mark((await h.producer.enqueue(newTask('reports', { payload: 'q3' }))).id, 'queued', 'reports');
  await h.admin.pause('reports');
  await h.admin.setLimits('reports', { rate: { max: 10, perMs: 1000 }, concurrency: 2 });

  const schedule = await h.moduleRef.get(ScheduleStore).create({
    name: 'nightly-digest',
    spec: { cron: '0 3 * * *', tz: 'Europe/Berlin' },
    task: { type: 'echo', queue: 'mail', payload: { digest: true }, priority: 0, maxRetries: 2, timeoutMs: 5000 },
    enabled: true,
    missed: 'skip',
    catchUpLimit: 1,
  });
  const key = await new ApiKeyStore(h.scripts, { prefix: h.prefix }).create({
    name: 'producer',
    scopes: ['submit', 'read'],
    queues: ['mail'],
    rateLimit: { max: 500, perMs: 1000 },
    quota: { tasks: 1_000_000, payloadBytes: null, perSeconds: 3600 },
  });
  return { tasks, scheduleId: schedule.id, apiKeyId: key.record.id };
}
