import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Counter } from 'prom-client';
import { AppliedOutcome, ClaimedTask, FailOutcome, QueueConsumer, QueueError, QueueErrorCode } from '@app/queue';
import { WorkerEnv } from '../config/worker.env';
import { ActiveRun } from '../run/active-run';
import { RunOutcome } from '../run/task-context';
import { OutcomeWriter } from './outcome-writer';

const unavailable = (maybeApplied: boolean) =>
  new QueueError(QueueErrorCode.Unavailable, 'ack', 'Redis unavailable during ack', { maybeApplied });
const leaseLost = () => new QueueError(QueueErrorCode.LeaseLost, 'ack', 'lease gone');

/**
 * The queue side as the writer sees it, scripted per test: each call takes the next scripted answer
 * (an error to throw, or nothing). The queue itself is tested on Redis; this is the writer's logic.
 */
class ScriptedQueue {
  readonly leaseMs = 30_000;
  readonly calls: string[] = [];
  readonly acked: string[] = [];
  readonly failed: FailOutcome[] = [];
  answers: (Error | undefined)[] = [];
  applied: AppliedOutcome[] = [];

  private next(call: string): void {
    this.calls.push(call);
    const answer = this.answers.shift();
    if (answer) throw answer;
  }

  async ack(_task: ClaimedTask, resultJson: string): Promise<void> {
    this.next('ack');
    this.acked.push(resultJson);
  }

  async fail(_task: ClaimedTask, outcome: FailOutcome): Promise<number> {
    this.next(`fail ${outcome.action}`);
    this.failed.push(outcome);
    return 0;
  }

  async release(): Promise<void> {
    this.next('release');
  }

  async appliedOutcome(): Promise<AppliedOutcome> {
    this.calls.push('appliedOutcome');
    return this.applied.shift() ?? 'none';
  }
}

describe('OutcomeWriter', () => {
  let queue: ScriptedQueue;
  let writer: OutcomeWriter;
  let counters: Record<'processed' | 'failed' | 'retried' | 'released', Counter<string>>;
  const task = { id: 'default.1', queue: 'default', type: 'echo', attempt: 1, leaseToken: 'w:1:1' } as ClaimedTask;
  const total = async (name: keyof typeof counters) =>
    (await counters[name].get()).values.reduce((sum, v) => sum + v.value, 0);
  const counts = async () => ({
    processed: await total('processed'),
    failed: await total('failed'),
    retried: await total('retried'),
  });

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    queue = new ScriptedQueue();
    const counter = (name: string) =>
      new Counter({ name, help: name, labelNames: ['task_type', 'queue'], registers: [] });
    counters = { processed: counter('p'), failed: counter('f'), retried: counter('r'), released: counter('x') };
    const config = new ConfigService({ LOG_LEVEL: 'info', MAX_RESULT_BYTES: 100 });
    writer = new OutcomeWriter(
      queue as unknown as QueueConsumer,
      counters.processed,
      counters.failed,
      counters.retried,
      counters.released,
      config as unknown as ConfigService<WorkerEnv, true>,
    );
  });

  const write = (outcome: RunOutcome, run = new ActiveRun(task, 30_000)) => writer.write(run, outcome);

  it('acks a success with its result as JSON, and counts it', async () => {
    await write({ kind: 'succeeded', result: { n: 1 } });
    expect(queue.acked).toEqual(['{"n":1}']);
    expect(await counts()).toEqual({ processed: 1, failed: 0, retried: 0 });
    await write({ kind: 'succeeded', result: undefined });
    expect(queue.acked[1]).toBe('null');
  });

  it('writes a retry and a dead-letter, each counted as what it is', async () => {
    await write({ kind: 'retry', delayMs: 20, error: 'Error: x' });
    await write({ kind: 'dead', reason: 'max_retries', error: 'Error: x' });
    expect(queue.failed).toEqual([
      expect.objectContaining({ action: 'retry', delayMs: 20 }),
      expect.objectContaining({ action: 'dead', reason: 'max_retries' }),
    ]);
    expect(await counts()).toEqual({ processed: 0, failed: 1, retried: 1 });
  });

  it('dead-letters a result it cannot store instead of acking: not JSON (non_retryable), too large (result_too_large)', async () => {
    await write({ kind: 'succeeded', result: { big: 10n } });
    await write({ kind: 'succeeded', result: 'x'.repeat(200) });
    expect(queue.calls).toEqual(['fail dead', 'fail dead']);
    expect(queue.failed.map((f) => f.action === 'dead' && f.reason)).toEqual(['non_retryable', 'result_too_large']);
    expect(await counts()).toEqual({ processed: 0, failed: 2, retried: 0 });
  });

  it('writes nothing for an abandoned run', async () => {
    const run = new ActiveRun(task, 30_000);
    run.abandon('lease_lost', new Error('lost'));
    await write({ kind: 'succeeded', result: 1 }, run);
    await write({ kind: 'abandoned', reason: 'released' });
    expect(queue.calls).toEqual([]);
  });

  it('counts nothing when the lease is lost', async () => {
    queue.answers = [leaseLost()];
    await write({ kind: 'succeeded', result: 1 });
    expect(await counts()).toEqual({ processed: 0, failed: 0, retried: 0 });
  });

  it('tries again while Redis is away (nothing was sent), and counts the one write that landed', async () => {
    queue.answers = [unavailable(false), unavailable(false)];
    await write({ kind: 'succeeded', result: 1 });
    expect(queue.calls).toEqual(['ack', 'ack', 'ack']);
    expect(await counts()).toMatchObject({ processed: 1 });
  });

  it('after a lost reply, asks what was applied before writing again', async () => {
    // Applied: counted, not written twice.
    queue.answers = [unavailable(true)];
    queue.applied = ['succeeded'];
    await write({ kind: 'succeeded', result: 1 });
    expect(queue.calls).toEqual(['ack', 'appliedOutcome']);
    expect(await counts()).toMatchObject({ processed: 1 });

    // Not applied (the run still holds its lease): written again, counted once.
    queue.calls.length = 0;
    queue.answers = [unavailable(true)];
    queue.applied = ['none'];
    await write({ kind: 'retry', delayMs: 5, error: 'Error: x' });
    expect(queue.calls).toEqual(['fail retry', 'appliedOutcome', 'fail retry']);
    expect(await counts()).toMatchObject({ retried: 1 });
  });

  it('counts nothing when the lost reply’s write went nowhere (lease gone) or cannot be known (hash gone)', async () => {
    for (const applied of ['lost', 'unknown'] as const) {
      queue.answers = [unavailable(true)];
      queue.applied = [applied];
      await write({ kind: 'succeeded', result: 1 });
    }
    expect(await counts()).toEqual({ processed: 0, failed: 0, retried: 0 });
  });

  it('gives up once the lease has run out (the recoverer hands the task on)', async () => {
    const run = new ActiveRun(task, 30_000);
    run.leaseUntil = Date.now() - 1;
    queue.answers = [unavailable(false), unavailable(false)];
    await write({ kind: 'succeeded', result: 1 }, run);
    expect(queue.calls).toEqual(['ack']);
    expect(await counts()).toMatchObject({ processed: 0 });
  });

  it('counts a release at shutdown only when it was applied', async () => {
    await writer.release(new ActiveRun(task, 30_000));
    queue.answers = [unavailable(false)];
    await writer.release(new ActiveRun(task, 30_000));
    expect(await total('released')).toBe(1);
  });
});
