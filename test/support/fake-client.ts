import {
  ApiKey,
  DeadTaskSummary,
  QueueStats,
  Schedule,
  Task,
  TaskqClient,
  TaskqClientOptions,
  TaskSummary,
  TaskType,
  Worker,
} from '@app/client';

/**
 * A TaskqClient for the unit tests of the CLI's commands and the console's pages: it records every call and
 * answers from the canned answers it was given. A method without an answer throws (naming it), so a test sees
 * every request the code under test makes. It is no stand-in for the api: the e2e suites drive the real one.
 */
type ClientMethod = {
  [K in keyof TaskqClient]: TaskqClient[K] extends (...args: never[]) => unknown ? K : never;
}[keyof TaskqClient];
export type CannedAnswers = { [K in ClientMethod]?: TaskqClient[K] };

export interface ClientCall {
  method: ClientMethod;
  args: unknown[];
}

export interface FakeClient {
  client: TaskqClient;
  /** Every call, in order. */
  calls: ClientCall[];
  /** The options each `connect` was given (base URL, API key). */
  connections: TaskqClientOptions[];
  /** A `connect` that hands out this fake and records its options (the CLI's `runCli` takes one). */
  connect: (options: TaskqClientOptions) => TaskqClient;
  /** The calls of one method, their arguments only. */
  argsOf(method: ClientMethod): unknown[][];
}

export function fakeClient(answers: CannedAnswers = {}): FakeClient {
  const calls: ClientCall[] = [];
  const connections: TaskqClientOptions[] = [];
  const methods = new Set(Object.getOwnPropertyNames(TaskqClient.prototype));
  const client = new Proxy({} as TaskqClient, {
    get(_, name) {
      // Only the client's own methods exist: `then` and other probes see undefined, as on a real client.
      if (typeof name !== 'string' || name === 'constructor' || !methods.has(name)) return undefined;
      const method = name as ClientMethod;
      return (...args: unknown[]) => {
        calls.push({ method, args });
        const answer = answers[method] as ((...a: unknown[]) => unknown) | undefined;
        if (!answer) throw new Error(`the fake client has no answer for ${method}()`);
        return answer(...args);
      };
    },
  });
  return {
    client,
    calls,
    connections,
    connect: (options) => {
      connections.push(options);
      return client;
    },
    argsOf: (method) => calls.filter((call) => call.method === method).map((call) => call.args),
  };
}

/** An async generator over `items`, as the client's paging methods (list, dead, keys) return; then `error`. */
export async function* itemsOf<T>(items: T[], error?: Error): AsyncGenerator<T> {
  yield* items;
  if (error) throw error;
}

const CREATED_AT = '2026-01-02T03:04:05.000Z';

/** A task as GET /tasks/{id} answers it: queued in `default` unless `fields` say otherwise. */
export function sampleTask(fields: Partial<Task> = {}): Task {
  return {
    task_id: 'default.00000000-0000-4000-8000-000000000001',
    task_type: 'echo',
    queue: 'default',
    status: 'queued',
    priority: 0,
    attempts: 0,
    max_retries: 3,
    timeout_ms: 30_000,
    recoveries: 0,
    payload: { n: 1 },
    result: null,
    last_error: null,
    dead_reason: null,
    created_at: CREATED_AT,
    started_at: null,
    finished_at: null,
    cancelled_at: null,
    next_run_at: null,
    attempts_history: [],
    schedule_id: null,
    scheduled_at: null,
    unique_key: null,
    backoff: null,
    ...fields,
  };
}

/** A task as the listings (GET /tasks) show it. */
export function sampleTaskSummary(fields: Partial<TaskSummary> = {}): TaskSummary {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { payload, result, last_error, attempts_history, unique_key, backoff, ...summary } = sampleTask();
  return { ...summary, ...fields };
}

/** A dead task as GET /dlq shows it. */
export function sampleDeadTask(fields: Partial<DeadTaskSummary> = {}): DeadTaskSummary {
  return {
    ...sampleTaskSummary({ status: 'dead', dead_reason: 'max_retries', attempts: 4, finished_at: CREATED_AT }),
    last_error: 'Error: failed\n    at handler',
    ...fields,
  };
}

/** A queue as GET /queues shows it: running, with no limits. */
export function sampleQueue(fields: Partial<QueueStats> = {}): QueueStats {
  return {
    queue: 'default',
    counts: { scheduled: 0, queued: 0, active: 0, retrying: 0, succeeded: 0, dead: 0, cancelled: 0 },
    oldest_queued_age_ms: null,
    dead_trimmed: 0,
    purged: 0,
    paused: false,
    limits: { rate: null, concurrency: null },
    last_served_at: null,
    unserved: false,
    ...fields,
  };
}

/** An hourly interval schedule of `echo`. */
export function sampleSchedule(fields: Partial<Schedule> = {}): Schedule {
  return {
    schedule_id: 'default~00000000-0000-4000-8000-000000000002',
    name: 'hourly',
    cron: null,
    every_ms: 3_600_000,
    tz: null,
    task: { task_type: 'echo', payload: null, queue: 'default', priority: 0, max_retries: 3, timeout_ms: 30_000 },
    enabled: true,
    missed: 'skip',
    catch_up_limit: 1,
    next_runs: ['2026-01-02T04:00:00.000Z'],
    next_run_at: '2026-01-02T04:00:00.000Z',
    last_run_at: null,
    last_task_id: null,
    last_task_status: null,
    runs: 0,
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
    ...fields,
  };
}

export function sampleWorker(fields: Partial<Worker> = {}): Worker {
  return {
    worker_id: 'host-1:4242:abcd',
    kind: 'native',
    host: 'host-1',
    pid: 4242,
    queues: ['default'],
    concurrency: 8,
    in_flight: 1,
    started_at: CREATED_AT,
    last_seen: CREATED_AT,
    ...fields,
  };
}

export function sampleKey(fields: Partial<ApiKey> = {}): ApiKey {
  return {
    id: '0123456789ab',
    name: 'reader',
    scopes: ['read'],
    queues: null,
    created_at: CREATED_AT,
    rate_limit: null,
    quota: null,
    ...fields,
  };
}

export function sampleTaskType(fields: Partial<TaskType> = {}): TaskType {
  return {
    name: 'py.upper',
    source: 'runtime',
    description: 'Upper-cases text',
    payload_schema: { type: 'object', required: ['text'] },
    max_retries: 3,
    timeout_ms: 60_000,
    queue: 'py',
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
    ...fields,
  };
}
