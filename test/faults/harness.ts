import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskKey } from '@app/queue';
import { AppProcess, AppStack, http, OwnRedis, waitFor } from '@app/testing';

/** Faults run one at a time against this: a redis-server of the suite's own, AOF fsynced on every write. */
export async function startDurableRedis(): Promise<OwnRedis> {
  const redis = await OwnRedis.create(['--appendonly', 'yes', '--appendfsync', 'always']);
  await redis.start();
  return redis;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same faults, sizes and fuzz inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a task is designed to end; `finished` (fuzz input) accepts either end. */
export type Expected = 'succeeded' | 'dead' | 'finished';

/** One submitted task and what it should end as. */
export interface Submitted {
  id: string;
  expect: Expected;
}

export interface ChaosTask {
  body: Record<string, unknown>;
  expect: Expected;
}

/** A `chaos` task that runs for `ms` and succeeds. */
export const runTask = (ms: number, extra: Record<string, unknown> = {}): ChaosTask => ({
  body: { task_type: 'chaos', payload: { behaviour: 'run', ms }, ...extra },
  expect: 'succeeded',
});

/** One row of the results table. */
export interface FaultRow {
  fault: string;
  accepted: number;
  succeeded: number;
  dead: number;
  lost: number;
  duplicateRuns: number;
  recovery: string;
}

/** How the accepted tasks ended: every id must be accounted for (lost = accepted − accounted). */
export interface Accounting {
  accepted: number;
  succeeded: number;
  dead: number;
  /** Ids not in the state they were designed to end in (missing, stuck, or wrong end state). */
  lost: string[];
  /**
   * Runs beyond the task's attempts, summed: a run cut short by a crash or an outage un-burns its
   * attempt (recovered or released), so runs − attempts counts exactly the repeated runs.
   */
  duplicateRuns: number;
  /** Ids run more often than their attempts. */
  duplicated: string[];
  /** Succeeded chaos tasks with no run record (the records themselves are broken). */
  unrecorded: string[];
  runs: Map<string, number>;
  /** Every run: task id, worker pid, attempt, start time (worker clock). */
  log: { id: string; pid: number; attempt: number; at: number }[];
}

const TERMINAL = new Set(['succeeded', 'dead']);

/** One fault's world: a fresh prefix on the suite's Redis, an api and workers running the built apps. */
export class FaultStack extends AppStack {
  /** Every worker that ever ran in this stack (killed ones included), for their logs. */
  readonly allWorkers: AppProcess[] = [];
  readonly submitted = new Map<string, Submitted>();

  constructor(redisUrl: string, env: Record<string, string> = {}) {
    super(redisUrl, {
      label: 'faults',
      env: { FAULT_TASKS: 'true', LOG_LEVEL: 'warn', ...env },
      // No offline queue, fail fast: the checks themselves must never hang on a Redis that is down.
      redisOptions: { maxRetriesPerRequest: 1, retryStrategy: () => 100 },
    });
  }

  override async startWorker(env: Record<string, string> = {}): Promise<AppProcess> {
    const worker = await super.startWorker(env);
    this.allWorkers.push(worker);
    return worker;
  }

  /** Stops one worker (SIGKILL or SIGTERM) and forgets it; returns its exit code. */
  async stopWorker(worker: AppProcess, signal: NodeJS.Signals): Promise<number | null> {
    this.workers.splice(this.workers.indexOf(worker), 1);
    return worker.stop(signal);
  }

  /** POST /submit; on 202 the id joins the accounting. */
  async submitOne(task: ChaosTask, timeoutMs = 10_000) {
    const res = await http('POST', `${this.api.url}/submit`, task.body, { timeoutMs });
    if (res.status === 202) this.submitted.set(res.body.task_id, { id: res.body.task_id, expect: task.expect });
    return res;
  }

  /** POST /submit/batch (all or none); on 202 every id joins the accounting. */
  async submitBatch(tasks: ChaosTask[], timeoutMs = 10_000) {
    const res = await http('POST', `${this.api.url}/submit/batch`, { tasks: tasks.map((t) => t.body) }, { timeoutMs });
    if (res.status === 202) {
      (res.body.task_ids as string[]).forEach((id, i) => this.submitted.set(id, { id, expect: tasks[i].expect }));
    }
    return res;
  }

  /** Submits a list through HTTP, every `batchEvery`-th chunk as a batch of `batchSize`, the rest one by one; all must be 202. */
  async submitAll(tasks: ChaosTask[], { batchSize = 100, singles = 0.1 } = {}): Promise<void> {
    const singleCount = Math.floor(tasks.length * singles);
    const ones = tasks.slice(0, singleCount);
    const rest = tasks.slice(singleCount);
    const lanes = 4;
    for (let i = 0; i < ones.length; i += lanes) {
      const results = await Promise.all(ones.slice(i, i + lanes).map((t) => this.submitOne(t)));
      for (const r of results)
        if (r.status !== 202) throw new Error(`submit answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    for (let i = 0; i < rest.length; i += batchSize) {
      const r = await this.submitBatch(rest.slice(i, i + batchSize));
      if (r.status !== 202) throw new Error(`batch answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
  }

  taskKey(id: string): string {
    return taskKey(this.prefix, id)!;
  }

  /** Status of each given id, read from the task hashes in one pipeline per 1000. */
  async statuses(ids: string[]): Promise<Map<string, string | null>> {
    const fields = await this.fields(ids, ['status']);
    return new Map([...fields].map(([id, f]) => [id, f[0]]));
  }

  /** Some fields of each given id's hash. */
  async fields(ids: string[], names: string[]): Promise<Map<string, (string | null)[]>> {
    const out = new Map<string, (string | null)[]>();
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const pipe = this.redis.pipeline();
      chunk.forEach((id) => pipe.hmget(this.taskKey(id), ...names));
      const replies = (await pipe.exec()) ?? [];
      chunk.forEach((id, j) => {
        const [error, value] = replies[j] ?? [];
        if (error) throw error;
        out.set(id, value as (string | null)[]);
      });
    }
    return out;
  }

  /** How many accepted tasks have reached succeeded or dead. */
  async finishedCount(): Promise<number> {
    const statuses = await this.statuses([...this.submitted.keys()]);
    return [...statuses.values()].filter((s) => s !== null && TERMINAL.has(s)).length;
  }

  /** Quiescence: every accepted task is succeeded or dead, and nothing of the queue is active. */
  async waitForQuiescence(timeoutMs: number, queue = 'default'): Promise<void> {
    const total = this.submitted.size;
    await waitFor(
      async () => {
        if ((await this.finishedCount()) < total) return false;
        return (await this.redis.zcard(`${this.prefix}:{${queue}}:active`)) === 0;
      },
      { timeoutMs, intervalMs: 100, what: `all ${total} accepted tasks to finish` },
    );
  }

  async runLog(): Promise<Accounting['log']> {
    const lines = await this.redis.lrange(`${this.prefix}:fault-log`, 0, -1);
    return lines.map((line) => {
      const [id, pid, attempt, at] = line.split(' ');
      return { id, pid: Number(pid), attempt: Number(attempt), at: Number(at) };
    });
  }

  /** Accounts for every accepted id: end state against design, runs against design. */
  async account(): Promise<Accounting> {
    const ids = [...this.submitted.keys()];
    const fields = await this.fields(ids, ['status', 'attempts', 'type']);
    const rawRuns = await this.redis.hgetall(`${this.prefix}:fault-runs`);
    const runs = new Map(Object.entries(rawRuns).map(([id, n]) => [id, Number(n)]));
    const lost: string[] = [];
    const duplicated: string[] = [];
    const unrecorded: string[] = [];
    let succeeded = 0;
    let dead = 0;
    let duplicateRuns = 0;
    for (const id of ids) {
      const task = this.submitted.get(id)!;
      const [status, attempts, type] = fields.get(id) ?? [];
      if (status === 'succeeded') succeeded++;
      if (status === 'dead') dead++;
      const ok = task.expect === 'finished' ? status === 'succeeded' || status === 'dead' : status === task.expect;
      if (!ok) lost.push(`${id}: ${status ?? 'missing'} (designed to end ${task.expect})`);
      if (type === 'chaos' && status === 'succeeded' && !runs.get(id)) unrecorded.push(id);
      const extra = (runs.get(id) ?? 0) - Number(attempts ?? 0);
      if (extra > 0) {
        duplicateRuns += extra;
        duplicated.push(id);
      }
    }
    return {
      accepted: ids.length,
      succeeded,
      dead,
      lost,
      duplicateRuns,
      duplicated,
      unrecorded,
      runs,
      log: await this.runLog(),
    };
  }
}

export function row(fault: string, acc: Accounting, recovery: string): FaultRow {
  return {
    fault,
    accepted: acc.accepted,
    succeeded: acc.succeeded,
    dead: acc.dead,
    lost: acc.lost.length,
    duplicateRuns: acc.duplicateRuns,
    recovery,
  };
}

/** The results table as markdown; printed at the end of the suite and kept in results/latest.md. */
export function renderTable(rows: FaultRow[], note: string): string {
  const header =
    '| fault | accepted | succeeded | dead | lost | duplicate runs | recovery time |\n|---|---:|---:|---:|---:|---:|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.fault} | ${r.accepted} | ${r.succeeded} | ${r.dead} | ${r.lost} | ${r.duplicateRuns} | ${r.recovery} |`,
  );
  return `${header}\n${lines.join('\n')}\n\n${note}\n`;
}

export function writeResults(markdown: string): string {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.md');
  writeFileSync(file, markdown);
  return file;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
