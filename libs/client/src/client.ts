import createClient, { Client } from 'openapi-fetch';
import type { components, paths } from './schema';

type Schemas = components['schemas'];
export type SubmitTask = Schemas['SubmitTaskDto'];
export type Submitted = Schemas['SubmitResponseDto'];
export type SubmittedBatch = Schemas['SubmitBatchResponseDto'];
export type Task = Schemas['TaskDto'];
export type TaskSummary = Schemas['TaskSummaryDto'];
export type TaskStatus = TaskSummary['status'];
export type DeadTaskSummary = Schemas['DeadTaskSummaryDto'];
export type QueueStats = Schemas['QueueStatsDto'];
export type QueueLimits = Schemas['QueueLimitsDto'];
export type QueueMinute = Schemas['QueueMinuteDto'];
export type Schedule = Schemas['ScheduleDto'];
export type CreateSchedule = Schemas['CreateScheduleDto'];
export type PutSchedule = Schemas['PutScheduleDto'];
export type PatchSchedule = Schemas['PatchScheduleDto'];
export type Worker = Schemas['WorkerDto'];
export type TaskType = Schemas['TaskTypeDto'];
export type PutTaskType = Schemas['PutTaskTypeDto'];
export type ApiKey = Schemas['ApiKeyDto'];
export type CreatedApiKey = Schemas['CreatedApiKeyDto'];
export type CreateApiKey = Schemas['CreateApiKeyDto'];
export type UpdateApiKey = Schemas['UpdateApiKeyDto'];
export type ErrorBody = Schemas['ErrorBodyDto'];
export type TaskQuery = NonNullable<paths['/tasks']['get']['parameters']['query']>;
export type DeadTaskQuery = NonNullable<paths['/dlq']['get']['parameters']['query']>;
export type ScheduleQuery = NonNullable<paths['/schedules']['get']['parameters']['query']>;
export type PurgeableStatus = paths['/queues/{name}/tasks']['delete']['parameters']['query']['status'];

/**
 * Every state, in the order a task moves through them, and whether it is finished (a state the task does not leave
 * by itself). Keyed by the generated TaskStatus, so a state missing here, or one the api's document does not have,
 * does not compile; a test in libs/contracts holds the order to the api's own list.
 */
const FINISHED_BY_STATUS = {
  scheduled: false,
  queued: false,
  active: false,
  retrying: false,
  succeeded: true,
  dead: true,
  cancelled: true,
} as const satisfies Record<TaskStatus, boolean>;
export const TASK_STATUSES = Object.keys(FINISHED_BY_STATUS) as readonly TaskStatus[];
/** The states a task does not leave by itself. */
export const FINISHED_STATUSES: readonly TaskStatus[] = TASK_STATUSES.filter((status) => FINISHED_BY_STATUS[status]);
export const isFinished = (task: { status: TaskStatus }): boolean => FINISHED_STATUSES.includes(task.status);

/** The waiting states DELETE /queues/{name}/tasks purges, keyed by the generated type (a drift does not compile). */
const PURGEABLE = { queued: true, scheduled: true, retrying: true } as const satisfies Record<PurgeableStatus, true>;
export const PURGEABLE_STATUSES = Object.keys(PURGEABLE) as readonly PurgeableStatus[];

/** The api answered with an error status; `body` is its error body (statusCode, error, message, errors?). */
export class TaskqHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path} answered ${status}: ${body?.message ?? 'no error body'}`);
    this.name = 'TaskqHttpError';
  }
}

/** Nothing answered at the client's base URL (refused, reset, DNS, timeout). */
export class TaskqUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly cause: unknown,
  ) {
    super(`taskq api unreachable at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'TaskqUnreachableError';
  }
}

export interface TaskqClientOptions {
  /** The api's base URL, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /** An API key (tq_...) or a JWT, sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** Retries of a request answered 503 (Redis unavailable), each after its Retry-After. Default 3. */
  retries503?: number;
  /** Upper bound on one wait before a retry, whatever Retry-After says. Default 10 000 ms. */
  maxRetryDelayMs?: number;
  /** Wait when a 503 carries no Retry-After. Default 1000 ms. */
  defaultRetryDelayMs?: number;
  /** Told before each wait for a retry (progress output, logs). */
  onRetry?: (retry: { method: string; path: string; attempt: number; delayMs: number }) => void;
}

/** How many ms a Retry-After header asks for (delay-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  const value = header?.trim() ?? '';
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its weekday and month; anything else (a negative number, garbage) is no delay.
  const date = /[A-Za-z]/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** GET /tasks/{id}?wait_ms= holds at most this long per request. */
const MAX_WAIT_MS = 30_000;
/** Requests that change nothing, or change it the same way twice: a 503 is retried. */
const RETRIED_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
/** Submits are retried too: they carry an idempotency key, so a retry of a write that landed replays it. */
const RETRIED_POSTS = new Set(['/submit', '/submit/batch']);

/**
 * A thin layer over the generated types (openapi-fetch on ./schema): what types cannot say. Errors throw
 * (TaskqHttpError with the api's error body, TaskqUnreachableError); a 503 is retried after its Retry-After for
 * reads, PUT/DELETE and submits, and every submit carries an idempotency key (one is made when the caller gave
 * none) that its retries reuse, so a retry never doubles a task.
 */
export class TaskqClient {
  /** The generated, fully typed client, for anything the methods below do not cover. */
  readonly raw: Client<paths>;
  private readonly retries503: number;
  private readonly maxRetryDelayMs: number;
  private readonly defaultRetryDelayMs: number;

  constructor(private readonly options: TaskqClientOptions) {
    this.retries503 = options.retries503 ?? 3;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.defaultRetryDelayMs = options.defaultRetryDelayMs ?? 1000;
    this.raw = createClient<paths>({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
      fetch: (request) => this.send(request),
    });
  }

  private async send(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const retried = RETRIED_METHODS.has(request.method) || (request.method === 'POST' && RETRIED_POSTS.has(path));
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(request.clone());
      } catch (error) {
        throw new TaskqUnreachableError(this.options.baseUrl, (error as { cause?: unknown }).cause ?? error);
      }
      if (response.status !== 503 || !retried || attempt >= this.retries503) return response;
      const delayMs = Math.min(
        retryAfterMs(response.headers.get('retry-after')) ?? this.defaultRetryDelayMs,
        this.maxRetryDelayMs,
      );
      await response.body?.cancel();
      this.options.onRetry?.({ method: request.method, path, attempt: attempt + 1, delayMs });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  private async call<T>(
    method: string,
    path: string,
    request: Promise<{ data?: T; error?: unknown; response: Response }>,
  ): Promise<T> {
    const { data, error, response } = await request;
    if (!response.ok) throw new TaskqHttpError(response.status, error as ErrorBody | undefined, method, path);
    return data as T;
  }

  /**
   * POST /submit. The idempotency key: `idempotencyKey`, else the task's `idempotency_key`, else a new one (from
   * globalThis.crypto, in Node and in browsers alike: the console bundles this client).
   */
  submit(task: SubmitTask, options: { idempotencyKey?: string } = {}): Promise<Submitted> {
    const key = options.idempotencyKey ?? task.idempotency_key ?? crypto.randomUUID();
    return this.call(
      'POST',
      '/submit',
      this.raw.POST('/submit', { body: task, params: { header: { 'Idempotency-Key': key } } }),
    );
  }

  /** POST /submit/batch: ids in request order; each task without an idempotency_key gets one, so a retry replays. */
  submitMany(tasks: SubmitTask[]): Promise<SubmittedBatch> {
    const keyed = tasks.map((task) => ({ ...task, idempotency_key: task.idempotency_key ?? crypto.randomUUID() }));
    return this.call('POST', '/submit/batch', this.raw.POST('/submit/batch', { body: { tasks: keyed } }));
  }

  /** GET /tasks/{id}; a TaskqHttpError with status 404 when unknown or expired. */
  get(id: string): Promise<Task> {
    return this.call('GET', `/tasks/${id}`, this.raw.GET('/tasks/{id}', { params: { path: { id } } }));
  }

  /**
   * The task once it has finished (succeeded, dead, cancelled) or as it stands after `timeoutMs`, whichever is
   * first: GET /tasks/{id}?wait_ms= (the api holds the request; no polling), repeated past the api's 30 s cap.
   */
  async wait(id: string, options: { timeoutMs: number }): Promise<Task> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const waitMs = Math.max(0, Math.min(MAX_WAIT_MS, deadline - Date.now()));
      const task = await this.call(
        'GET',
        `/tasks/${id}`,
        this.raw.GET('/tasks/{id}', { params: { path: { id }, query: { wait_ms: waitMs } } }),
      );
      if (isFinished(task) || Date.now() >= deadline) return task;
    }
  }

  /** POST /tasks/{id}/cancel: the task, cancelled (409 when it has finished already). */
  cancel(id: string): Promise<Task> {
    return this.call('POST', `/tasks/${id}/cancel`, this.raw.POST('/tasks/{id}/cancel', { params: { path: { id } } }));
  }

  /**
   * POST /tasks/{id}/retry: a finished task (succeeded, dead or cancelled) queued again under its id, attempts
   * reset, its history kept (409 while unfinished, or while another task holds its uniqueness lock).
   */
  retry(id: string): Promise<Task> {
    return this.call('POST', `/tasks/${id}/retry`, this.raw.POST('/tasks/{id}/retry', { params: { path: { id } } }));
  }

  /** One page of GET /tasks. */
  listPage(query: TaskQuery = {}) {
    return this.call('GET', '/tasks', this.raw.GET('/tasks', { params: { query } }));
  }

  /** Every task summary matching `query`, page after page (by next_cursor) as the loop asks for them. */
  async *list(query: TaskQuery = {}): AsyncGenerator<TaskSummary> {
    let cursor = query.cursor;
    do {
      const page = await this.listPage({ ...query, cursor });
      yield* page.tasks;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** One page of GET /dlq. */
  deadPage(query: DeadTaskQuery = {}) {
    return this.call('GET', '/dlq', this.raw.GET('/dlq', { params: { query } }));
  }

  /** Every dead task (of one queue, or of every queue the credential sees), newest death first. */
  async *dead(query: DeadTaskQuery = {}): AsyncGenerator<DeadTaskSummary> {
    let cursor = query.cursor;
    do {
      const page = await this.deadPage({ ...query, cursor });
      yield* page.tasks;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** POST /dlq/{id}/requeue: the task, back in its queue. */
  requeueDead(id: string): Promise<Task> {
    return this.call('POST', `/dlq/${id}/requeue`, this.raw.POST('/dlq/{id}/requeue', { params: { path: { id } } }));
  }

  /** DELETE /dlq/{id}. */
  async deleteDead(id: string): Promise<void> {
    await this.call('DELETE', `/dlq/${id}`, this.raw.DELETE('/dlq/{id}', { params: { path: { id } } }));
  }

  /** DELETE /dlq?queue=: how many dead tasks of `queue` were deleted. */
  async purgeDead(queue: string): Promise<number> {
    const result = await this.call('DELETE', '/dlq', this.raw.DELETE('/dlq', { params: { query: { queue } } }));
    return result.deleted;
  }

  /** GET /queues. */
  async queues(): Promise<QueueStats[]> {
    return (await this.call('GET', '/queues', this.raw.GET('/queues'))).queues;
  }

  queue(name: string): Promise<QueueStats> {
    return this.call('GET', `/queues/${name}`, this.raw.GET('/queues/{name}', { params: { path: { name } } }));
  }

  /** GET /queues/{name}/history: finished, dead, retried and cancelled counts per minute, oldest first. */
  async history(name: string, minutes = 60): Promise<QueueMinute[]> {
    const path = `/queues/${name}/history`;
    const answer = this.raw.GET('/queues/{name}/history', { params: { path: { name }, query: { minutes } } });
    return (await this.call('GET', path, answer)).minutes;
  }

  pause(name: string): Promise<QueueStats> {
    return this.call(
      'POST',
      `/queues/${name}/pause`,
      this.raw.POST('/queues/{name}/pause', { params: { path: { name } } }),
    );
  }

  resume(name: string): Promise<QueueStats> {
    return this.call(
      'POST',
      `/queues/${name}/resume`,
      this.raw.POST('/queues/{name}/resume', { params: { path: { name } } }),
    );
  }

  setLimits(name: string, limits: QueueLimits): Promise<QueueStats> {
    return this.call(
      'PUT',
      `/queues/${name}/limits`,
      this.raw.PUT('/queues/{name}/limits', { params: { path: { name } }, body: limits }),
    );
  }

  /**
   * DELETE /queues/{name}/tasks?status=: purges the queue's tasks waiting in one state (never an active one);
   * they are gone, with no record. How many.
   */
  async purgeTasks(name: string, status: PurgeableStatus): Promise<number> {
    const answer = this.raw.DELETE('/queues/{name}/tasks', { params: { path: { name }, query: { status } } });
    return (await this.call('DELETE', `/queues/${name}/tasks`, answer)).deleted;
  }

  /** DELETE /queues/{name}: forgets an empty queue. */
  async forgetQueue(name: string): Promise<void> {
    await this.call('DELETE', `/queues/${name}`, this.raw.DELETE('/queues/{name}', { params: { path: { name } } }));
  }

  /** GET /workers: the workers' heartbeats. */
  async workers(): Promise<Worker[]> {
    return (await this.call('GET', '/workers', this.raw.GET('/workers'))).workers;
  }

  /** One page of GET /schedules. */
  schedulesPage(query: ScheduleQuery = {}) {
    return this.call('GET', '/schedules', this.raw.GET('/schedules', { params: { query } }));
  }

  /** Every schedule matching `query` (of one queue, or every queue the key may see), by name, page after page. */
  async *schedules(query: ScheduleQuery = {}): AsyncGenerator<Schedule> {
    let cursor = query.cursor;
    do {
      const page = await this.schedulesPage({ ...query, cursor });
      yield* page.schedules;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** GET /schedules/{id or name}. */
  schedule(schedule: string): Promise<Schedule> {
    return this.call(
      'GET',
      `/schedules/${schedule}`,
      this.raw.GET('/schedules/{schedule}', { params: { path: { schedule } } }),
    );
  }

  createSchedule(body: CreateSchedule): Promise<Schedule> {
    return this.call('POST', '/schedules', this.raw.POST('/schedules', { body }));
  }

  /** PUT /schedules/{name}: creates or updates by name (unchanged writes nothing). */
  putSchedule(name: string, body: PutSchedule): Promise<Schedule> {
    return this.call(
      'PUT',
      `/schedules/${name}`,
      this.raw.PUT('/schedules/{schedule}', { params: { path: { schedule: name } }, body }),
    );
  }

  updateSchedule(schedule: string, body: PatchSchedule): Promise<Schedule> {
    return this.call(
      'PATCH',
      `/schedules/${schedule}`,
      this.raw.PATCH('/schedules/{schedule}', { params: { path: { schedule } }, body }),
    );
  }

  async deleteSchedule(schedule: string): Promise<void> {
    await this.call(
      'DELETE',
      `/schedules/${schedule}`,
      this.raw.DELETE('/schedules/{schedule}', { params: { path: { schedule } } }),
    );
  }

  /** GET /task-types: every type the api accepts, those defined in code first. */
  async taskTypes(): Promise<TaskType[]> {
    return (await this.call('GET', '/task-types', this.raw.GET('/task-types'))).task_types;
  }

  /** GET /task-types/{name}. */
  taskType(name: string): Promise<TaskType> {
    return this.call('GET', `/task-types/${name}`, this.raw.GET('/task-types/{name}', { params: { path: { name } } }));
  }

  /** PUT /task-types/{name}: defines or replaces a type at run time (admin). */
  putTaskType(name: string, body: PutTaskType): Promise<TaskType> {
    return this.call(
      'PUT',
      `/task-types/${name}`,
      this.raw.PUT('/task-types/{name}', { params: { path: { name } }, body }),
    );
  }

  /** DELETE /task-types/{name}: a type defined at run time (admin). */
  async deleteTaskType(name: string): Promise<void> {
    await this.call(
      'DELETE',
      `/task-types/${name}`,
      this.raw.DELETE('/task-types/{name}', { params: { path: { name } } }),
    );
  }

  /** POST /auth/keys: the new key, its secret shown this once. */
  createKey(body: CreateApiKey): Promise<CreatedApiKey> {
    return this.call('POST', '/auth/keys', this.raw.POST('/auth/keys', { body }));
  }

  async *keys(): AsyncGenerator<ApiKey> {
    let cursor: string | undefined;
    do {
      const page = await this.call('GET', '/auth/keys', this.raw.GET('/auth/keys', { params: { query: { cursor } } }));
      yield* page.keys;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** PATCH /auth/keys/{id}: a key's own rate limit and quota (left out: kept; null: the default applies). */
  updateKey(id: string, body: UpdateApiKey): Promise<ApiKey> {
    return this.call(
      'PATCH',
      `/auth/keys/${id}`,
      this.raw.PATCH('/auth/keys/{id}', { params: { path: { id } }, body }),
    );
  }

  /** DELETE /auth/keys/{id}. */
  async revokeKey(id: string): Promise<void> {
    await this.call('DELETE', `/auth/keys/${id}`, this.raw.DELETE('/auth/keys/{id}', { params: { path: { id } } }));
  }
}
