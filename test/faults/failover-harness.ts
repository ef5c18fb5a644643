import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { queueOfTaskId } from '@app/queue';
import { http, waitFor } from '@app/testing';
import { FaultStack, formatLikeReadme, RESULTS_DIR } from './harness';

/** One POST /submit and how it was answered. */
export interface Answer {
  queue: string;
  /** HTTP status; 0 = no answer (connection error or the client's deadline). */
  status: number;
  sentAt: number;
  answeredAt: number;
  id?: string;
  retryAfter?: string | null;
  error?: string;
}

/**
 * Submits `echo` tasks over HTTP in `lanes` concurrent loops, round-robin over `queues`, until
 * stopped. Every answer is kept; a 202 joins the stack's accounting, a 5xx or no answer counts as
 * maybe written (the task may be in Redis without a 202).
 */
export class SubmitLoad {
  readonly answers: Answer[] = [];
  private running = false;
  private lanes: Promise<void>[] = [];
  private next = 0;

  constructor(
    private readonly stack: FaultStack,
    private readonly queues: string[],
    private readonly lanesCount = 6,
  ) {}

  start(): void {
    this.running = true;
    this.lanes = Array.from({ length: this.lanesCount }, () => this.lane());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.lanes);
  }

  /** 202s so far, optionally only for some queues and after a time. */
  accepted(queues?: Set<string>, after = 0): Answer[] {
    return this.answers.filter((a) => a.status === 202 && a.answeredAt >= after && (!queues || queues.has(a.queue)));
  }

  private async lane(): Promise<void> {
    while (this.running) {
      const n = this.next++;
      const queue = this.queues[n % this.queues.length];
      const sentAt = Date.now();
      const answer: Answer = { queue, status: 0, sentAt, answeredAt: sentAt };
      try {
        const res = await http(
          'POST',
          `${this.stack.api.url}/submit`,
          { task_type: 'echo', payload: { n }, queue },
          { timeoutMs: 10_000 },
        );
        answer.status = res.status;
        answer.retryAfter = res.headers.get('retry-after');
        if (res.status === 202) {
          answer.id = res.body.task_id as string;
          this.stack.submitted.set(answer.id, { id: answer.id, expect: 'succeeded' });
        } else if (res.status >= 500) {
          this.stack.maybeWritten++;
        }
      } catch (error) {
        answer.error = (error as Error).message;
        this.stack.maybeWritten++;
      }
      answer.answeredAt = Date.now();
      this.answers.push(answer);
    }
  }
}

/** Every accepted task: its status, or null when its hash is gone (lost by the failover). */
export async function acceptedStatuses(stack: FaultStack): Promise<Map<string, string | null>> {
  return stack.statuses([...stack.submitted.keys()]);
}

/**
 * Waits until nothing is left to run: no task queued, scheduled, retrying or active in any queue,
 * and every accepted task finished or gone (a task lost by a failover never comes back).
 */
export async function waitUntilSettled(stack: FaultStack, timeoutMs: number): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const pending = await stack.pendingCount();
      const statuses = await acceptedStatuses(stack);
      const open = [...statuses.values()].filter((s) => s !== null && s !== 'succeeded' && s !== 'dead').length;
      last = `${pending} pending, ${open} accepted tasks not finished`;
      return pending === 0 && open === 0;
    },
    { timeoutMs, intervalMs: 200, what: 'every task to finish' },
  ).catch((error: Error) => {
    throw new Error(`${error.message} (${last})`);
  });
}

/** How one failover went: what the README and results/failover.md show. */
export interface FailoverRow {
  fault: string;
  waitReplicas: number;
  accepted: number;
  /** Accepted tasks of the queues the killed master served. */
  acceptedOnVictim: number;
  /** Of those, accepted in the last second before the kill (the most a lagging replica may miss). */
  acceptedLastSecond: number;
  answers503: number;
  /** Tasks in Redis that no 202 named (a 503 "maybe applied"), all finished. */
  unconfirmed: number;
  succeeded: number;
  lost: number;
  /** Lease recoveries: tasks whose heartbeat or ack could not reach their master in time, run again. */
  recoveries: number;
  failoverMs: number;
  apiBackMs: number;
  settledMs: number;
  notes: string;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function renderFailoverTable(rows: FailoverRow[]): string {
  return [
    '| fault | `REDIS_WAIT_REPLICAS` | accepted (202) | of them on the killed master | … in its last second | 503 (all with `Retry-After`) | 503-but-written | succeeded | **lost by failover** | lease recoveries (run again) | replica promoted after | 202s on its queues again after | everything finished after |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.waitReplicas} | ${r.accepted} | ${r.acceptedOnVictim} | ${r.acceptedLastSecond} | ${r.answers503} | ${r.unconfirmed} | ${r.succeeded} | **${r.lost}** | ${r.recoveries} | ${s(r.failoverMs)} | ${s(r.apiBackMs)} | ${s(r.settledMs)} |`,
    ),
  ].join('\n');
}

/** Marks the block that `npm run publish:reports` copies into the README. */
export const FAILOVER_BEGIN =
  '<!-- failover-table:begin (test/faults/results/failover.md, `npm run publish:reports`) -->';
export const FAILOVER_END = '<!-- failover-table:end -->';

/** results/failover.md and failover.json: the table of a run where every failover passed. */
export function writeFailoverResults(rows: FailoverRow[], notes: string[]): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: __dirname, encoding: 'utf8' }).stdout?.trim() ?? '';
  const redisVersion = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  const date = new Date().toISOString();
  // Uncommitted changes to what ran; this run's own outputs (the results, the README's copy) do not count.
  const root = join(__dirname, '..', '..');
  const dirty = git('-C', root, 'status', '--porcelain', '--', '.', ':!README.md', ':!test/faults/results').length > 0;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'failover.md');
  writeFileSync(
    file,
    [
      '# Failover results (latest run)',
      '',
      `Written by \`npm run build && npm run test:failover\` (test/faults/failover.failover-spec.ts) on ${date}, at commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' plus uncommitted changes to the code' : ''}, ${cpus().length} cores, redis-server ${redisVersion}; only a run where every failover passed writes this file.`,
      'The README shows the block below: `npm run publish:reports` copies it there (and this file to test/faults/results/).',
      '',
      formatLikeReadme(`${FAILOVER_BEGIN}\n\n${renderFailoverTable(rows)}\n\n${notes.join('\n')}\n\n${FAILOVER_END}\n`),
    ].join('\n'),
  );
  writeFileSync(
    join(RESULTS_DIR, 'failover.json'),
    `${JSON.stringify({ date, commit: git('rev-parse', '--short', 'HEAD'), dirty, cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, redisServer: redisVersion, rows }, null, 2)}\n`,
  );
  return file;
}

/** The queue of each accepted id that has no hash any more. */
export function lostByQueue(statuses: Map<string, string | null>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, status] of statuses) {
    if (status !== null) continue;
    const queue = queueOfTaskId(id)!;
    out.set(queue, [...(out.get(queue) ?? []), id]);
  }
  return out;
}
