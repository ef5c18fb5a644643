import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { faultRunKeys, isFinishedStatus } from '@app/contracts';
import { queueKeys, queueOfTaskId, queueRegistryKey, RedisConnection, taskKey } from '@app/queue';
import { AppProcess, AppStack, http, JsonResponse, OwnRedis, taskHashes, waitFor } from '@app/testing';
import { FAULT_REPORTS_DIR } from '../../scripts/reports';

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

/** How a task is designed to end; `finished` (fuzz input) accepts any end. */
export type Expected = 'succeeded' | 'dead' | 'cancelled' | 'finished';

/** One submitted task and what it should end as. */
export interface Submitted {
  id: string;
  expect: Expected;
  /**
   * The task as submitted through submitAll (concurrent submits are answered in any order, so an id maps
   * back through it); absent for ids a test records itself.
   */
  task?: ChaosTask;
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

/** Whether a task ended as its test designed it: in that state, or in any finished one for 'finished'. */
function endsAsDesigned(status: string | null | undefined, expect: Expected): boolean {
  return expect === 'finished' ? !!status && isFinishedStatus(status) : status === expect;
}

/** How every task the fault left in Redis ended, and how often each ran. */
export interface Accounting {
  /** Tasks answered 202 (their ids were returned). */
  accepted: number;
  /** Of the accepted: how many ended succeeded / dead. */
  succeeded: number;
  dead: number;
  /** Accepted ids not in the state they were designed to end in (missing, stuck, or wrong end state). */
  lost: string[];
  /**
   * Task hashes under the stack's prefix that no 202 named: written by a submission the api answered
   * 503 because its command timed out, while Redis still ran it (Redis paused, not gone). The client
   * was told the outcome is unknown; the task must still run to its end like any other.
   */
  unconfirmed: string[];
  /** Unconfirmed tasks not ended as designed. */
  unconfirmedUnfinished: string[];
  /**
   * Runs beyond the task's attempts, summed over every task: a run cut short by a lease expiry or a
   * shutdown un-burns its attempt (recovered or released), so runs − attempts counts the repeats.
   */
  duplicateRuns: number;
  /** Ids run more often than their attempts. */
  duplicated: string[];
  /**
   * Ids with more repeated runs than their `recoveries + releases`: a repeat nobody handed back or
   * recovered, i.e. two live runs of one attempt (a double-run bug). Must be empty.
   */
  unexplainedDuplicates: string[];
  /** Lease recoveries and shutdown releases, summed over every task (the hash's counters). */
  recoveries: number;
  releases: number;
  /** Succeeded chaos tasks with no run record (the records themselves are broken). */
  unrecorded: string[];
  /** Ids with run records but no task hash: a task that ran and then vanished. */
  vanished: string[];
  runs: Map<string, number>;
  /** Every run: task id, worker pid, attempt, start time (worker clock). */
  log: { id: string; pid: number; attempt: number; at: number }[];
}

export interface FaultStackOptions {
  env?: Record<string, string>;
  /** How a task written without a 202 (see Accounting.unconfirmed) is designed to end; default succeeded. */
  unconfirmedExpect?: Expected;
}

/** One fault's world: a fresh prefix on the suite's Redis, an api and workers running the built apps. */
export class FaultStack extends AppStack {
  /** Every worker that ever ran in this stack (killed ones included), for their logs. */
  readonly allWorkers: AppProcess[] = [];
  /** Tasks answered 202, by id. */
  readonly submitted = new Map<string, Submitted>();
  /**
   * Tasks in submissions that got no 202 and no 4xx (a 5xx, or no answer): each may or may not be in
   * Redis. A task written without a 202 must come from one of these.
   */
  maybeWritten = 0;
  readonly unconfirmedExpect: Expected;

  constructor(target: RedisConnection | string, options: FaultStackOptions = {}) {
    super(target, {
      label: 'faults',
      env: { FAULT_TASKS: 'true', LOG_LEVEL: 'warn', ...options.env },
      // No offline queue, fail fast: the checks themselves must never hang on a Redis that is down.
      redisOptions: { maxRetriesPerRequest: 1, retryStrategy: () => 100 },
    });
    this.unconfirmedExpect = options.unconfirmedExpect ?? 'succeeded';
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

  /** A submission: 202 ids join the accounting; a 5xx or no answer may still have written its tasks. */
  private async submit(path: string, body: unknown, tasks: ChaosTask[], timeoutMs: number) {
    let res: JsonResponse;
    try {
      res = await http('POST', `${this.api.url}${path}`, body, { timeoutMs });
    } catch (error) {
      this.maybeWritten += tasks.length;
      throw error;
    }
    if (res.status === 202) {
      const ids: string[] = res.body.task_ids ?? [res.body.task_id];
      ids.forEach((id, i) => this.submitted.set(id, { id, expect: tasks[i].expect, task: tasks[i] }));
    } else if (res.status >= 500) {
      this.maybeWritten += tasks.length;
    }
    return res;
  }

  /** POST /submit. */
  submitOne(task: ChaosTask, timeoutMs = 10_000) {
    return this.submit('/submit', task.body, [task], timeoutMs);
  }

  /** POST /submit/batch (all or none). */
  submitBatch(tasks: ChaosTask[], timeoutMs = 10_000) {
    return this.submit('/submit/batch', { tasks: tasks.map((t) => t.body) }, tasks, timeoutMs);
  }

  /** Submits a list through HTTP, a share one by one (4 at a time), the rest in batches; all must be 202. */
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

  /** Some fields of each given id's hash; one pipeline per queue and 1000 ids (a queue is one cluster slot). */
  async fields(ids: string[], names: string[]): Promise<Map<string, (string | null)[]>> {
    const byQueue = new Map<string, string[]>();
    for (const id of ids) {
      const queue = queueOfTaskId(id) ?? '';
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), id]);
    }
    const out = new Map<string, (string | null)[]>();
    for (const queueIds of byQueue.values()) {
      for (let i = 0; i < queueIds.length; i += 1000) {
        const chunk = queueIds.slice(i, i + 1000);
        const pipe = this.redis.pipeline();
        chunk.forEach((id) => pipe.hmget(this.taskKey(id), ...names));
        const replies = (await pipe.exec()) ?? [];
        chunk.forEach((id, j) => {
          const [error, value] = replies[j] ?? [];
          if (error) throw error;
          out.set(id, value as (string | null)[]);
        });
      }
    }
    return new Map(ids.map((id) => [id, out.get(id)!]));
  }

  /** How many accepted tasks have reached succeeded, dead or cancelled. */
  async finishedCount(): Promise<number> {
    const statuses = await this.statuses([...this.submitted.keys()]);
    return [...statuses.values()].filter((s) => s !== null && isFinishedStatus(s)).length;
  }

  /** Tasks not finished yet in any queue of the stack: queued, scheduled, retrying or active. */
  async pendingCount(): Promise<number> {
    const queues = new Set(['default', ...(await this.redis.smembers(queueRegistryKey(this.prefix)))]);
    let pending = 0;
    // One pipeline per queue: its keys share one cluster slot.
    for (const queue of queues) {
      const keys = queueKeys(this.prefix, queue);
      const pipe = this.redis.pipeline();
      for (const key of [keys.queued, keys.scheduled, keys.retrying, keys.active]) pipe.zcard(key);
      // The ready list's entries less its tombstones (cancelled tasks' entries left in place).
      pipe.llen(keys.ready).hget(keys.meta, 'ready_stale');
      const replies = (await pipe.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      const counts = replies.map(([, n]) => Number(n ?? 0));
      pending += counts[0] + counts[1] + counts[2] + counts[3] + Math.max(0, counts[4] - counts[5]);
    }
    return pending;
  }

  /**
   * Quiescence: every accepted task is succeeded, dead or cancelled, and nothing in any queue of the stack is
   * waiting or running (which covers tasks written without a 202, too).
   */
  async waitForQuiescence(timeoutMs: number): Promise<void> {
    const total = this.submitted.size;
    let last = '';
    await waitFor(
      async () => {
        const finished = await this.finishedCount();
        const pending = await this.pendingCount();
        last = `${finished}/${total} accepted finished, ${pending} pending`;
        return finished === total && pending === 0;
      },
      { timeoutMs, intervalMs: 100, what: `all ${total} accepted tasks to finish` },
    ).catch((error: Error) => {
      throw new Error(`${error.message} (${last})`);
    });
  }

  async runLog(): Promise<Accounting['log']> {
    const lines = await this.redis.lrange(faultRunKeys(this.prefix).log, 0, -1);
    return lines.map((line) => {
      const [id, pid, attempt, at] = line.split(' ');
      return { id, pid: Number(pid), attempt: Number(attempt), at: Number(at) };
    });
  }

  /** Accounts for every task hash under the prefix (every queue), accepted or not, and every run record. */
  async account(): Promise<Accounting> {
    const hashes = await taskHashes(this.redis, this.prefix, ['status', 'attempts', 'type', 'recoveries', 'releases']);
    const rawRuns = await this.redis.hgetall(faultRunKeys(this.prefix).runs);
    const runs = new Map(Object.entries(rawRuns).map(([id, n]) => [id, Number(n)]));
    const acc: Accounting = {
      accepted: this.submitted.size,
      succeeded: 0,
      dead: 0,
      lost: [],
      unconfirmed: [],
      unconfirmedUnfinished: [],
      duplicateRuns: 0,
      duplicated: [],
      unexplainedDuplicates: [],
      recoveries: 0,
      releases: 0,
      unrecorded: [],
      vanished: [...runs.keys()].filter((id) => !hashes.has(id)),
      runs,
      log: await this.runLog(),
    };
    for (const { id, expect: designed } of this.submitted.values()) {
      const status = hashes.get(id)?.[0];
      if (status === 'succeeded') acc.succeeded++;
      if (status === 'dead') acc.dead++;
      if (!endsAsDesigned(status, designed))
        acc.lost.push(`${id}: ${status ?? 'missing'} (designed to end ${designed})`);
    }
    for (const [id, [status, attempts, type, recoveries, releases]] of hashes) {
      if (!this.submitted.has(id)) {
        acc.unconfirmed.push(id);
        if (!endsAsDesigned(status, this.unconfirmedExpect)) {
          acc.unconfirmedUnfinished.push(`${id}: ${status} (designed to end ${this.unconfirmedExpect})`);
        }
      }
      // A field the scripts have not written yet reads as 0 (e.g. `releases` before the first release).
      const handedBack = Number(recoveries ?? 0) + Number(releases ?? 0);
      acc.recoveries += Number(recoveries ?? 0);
      acc.releases += Number(releases ?? 0);
      if (type === 'chaos' && status === 'succeeded' && !runs.get(id)) acc.unrecorded.push(id);
      const extra = (runs.get(id) ?? 0) - Number(attempts ?? 0);
      if (extra > 0) {
        acc.duplicateRuns += extra;
        acc.duplicated.push(id);
        if (extra > handedBack) {
          acc.unexplainedDuplicates.push(
            `${id}: ${runs.get(id)} runs, ${attempts} attempts, ${recoveries ?? 0} recoveries, ${releases ?? 0} releases`,
          );
        }
      }
    }
    return acc;
  }
}

/** One row of the results table. */
export interface FaultRow {
  fault: string;
  accepted: number;
  /** Tasks written without a 202 (after a 503), all finished too. */
  unconfirmed: number;
  succeeded: number;
  dead: number;
  lost: number;
  duplicateRuns: number;
  recoveries: number;
  releases: number;
  /** Recovery and timing facts, with the bounds the test asserts. */
  recovery: string;
}

export function row(fault: string, acc: Accounting, recovery: string): FaultRow {
  return {
    fault,
    accepted: acc.accepted,
    unconfirmed: acc.unconfirmed.length,
    succeeded: acc.succeeded,
    dead: acc.dead,
    lost: acc.lost.length,
    duplicateRuns: acc.duplicateRuns,
    recoveries: acc.recoveries,
    releases: acc.releases,
    recovery,
  };
}

/** The results table as markdown. */
export function renderTable(rows: FaultRow[]): string {
  const header = [
    '| fault | accepted (202) | 503-but-written | succeeded | dead | lost | duplicate runs | recoveries + releases | recovery, with the bound asserted |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const lines = rows.map(
    (r) =>
      `| ${r.fault} | ${r.accepted} | ${r.unconfirmed} | ${r.succeeded} | ${r.dead} | ${r.lost} | ${r.duplicateRuns} | ${r.recoveries} + ${r.releases} | ${r.recovery} |`,
  );
  return [...header, ...lines].join('\n');
}

/**
 * Markdown formatted as the repository formats the README (prettier with its config), so the copy in
 * the README stays clean. Prettier runs as a child process: it cannot load inside jest's VM.
 */
export function formatLikeReadme(markdown: string): string {
  const root = join(__dirname, '..', '..');
  const result = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--stdin-filepath', join(root, 'README.md')],
    { input: markdown, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`prettier failed: ${result.stderr || result.error}`);
  return result.stdout;
}

/**
 * Where a run writes its tables: reports/faults/ (git-ignored), so a test run leaves the tree as it was.
 * `npm run publish:reports` copies them to test/faults/results/ and into the README.
 */
export const RESULTS_DIR = FAULT_REPORTS_DIR;
/** Marks the block that `npm run publish:reports` copies into the README. */
export const BLOCK_BEGIN = '<!-- fault-table:begin (test/faults/results/latest.md, `npm run publish:reports`) -->';
export const BLOCK_END = '<!-- fault-table:end -->';

export interface RunInfo {
  seed: number;
  wallTimeMs: number;
  notes: string[];
}

/** Writes results/latest.md (the table and notes, between the README block markers) and results/latest.json. */
export function writeResults(rows: FaultRow[], run: RunInfo): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: __dirname, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD');
  // Uncommitted changes to what ran; this run's own outputs (the results, the README's copy) do not count.
  const root = join(__dirname, '..', '..');
  const dirty = git('-C', root, 'status', '--porcelain', '--', '.', ':!README.md', ':!test/faults/results').length > 0;
  const redisVersion = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  const date = new Date().toISOString();
  const block = formatLikeReadme(`${BLOCK_BEGIN}\n\n${renderTable(rows)}\n\n${run.notes.join('\n')}\n\n${BLOCK_END}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'latest.md');
  writeFileSync(
    file,
    [
      '# Fault-injection results (latest full run)',
      '',
      `Written by \`npm run build && npm run test:faults\` (test/faults/reliability.fault-spec.ts) on ${date}, at commit ${commit}${dirty ? ' plus uncommitted changes to the code' : ''}; only a run where every fault passed writes this file.`,
      'The README shows the block below: `npm run publish:reports` copies it there (and this file to test/faults/results/).',
      '',
      block,
    ].join('\n'),
  );
  writeFileSync(
    join(RESULTS_DIR, 'latest.json'),
    `${JSON.stringify(
      {
        date,
        commit,
        dirty,
        seed: run.seed,
        wallTimeMs: run.wallTimeMs,
        cores: cpus().length,
        cpu: cpus()[0]?.model,
        node: process.version,
        redisServer: redisVersion,
        rows,
      },
      null,
      2,
    )}\n`,
  );
  return file;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
