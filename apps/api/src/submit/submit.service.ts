import { ConflictException, HttpStatus, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Counter } from 'prom-client';
import { Principal, QuotaKeeper } from '@app/auth';
import { DEFAULT_QUEUE, TaskBackoff, TaskContract, TaskContractRegistry, TaskSettings } from '@app/contracts';
import { InjectMetric, METRIC } from '@app/metrics';
import { EnqueuedTask, NewTask, QueueError, QueueProducer, SameCallConflict } from '@app/queue';
import { assertQueueAccess } from '../auth/access';
import { ApiEnv } from '../config/api.env';
import { badRequest, FieldError, payloadTooLarge } from '../filters/api-errors';
import { BackoffCurveDto, BackoffScheduleDto, SUBMIT_LIMITS, SubmitTaskDto } from './dto/submit-task.dto';

/** A task to write and its serialized payload size (what the byte quota counts). */
type SizedTask = NewTask & { payloadBytes: number };

/**
 * Turns validated submissions into queue tasks: contract check, defaults, size limits, the
 * caller's queues and quota, one write.
 */
@Injectable()
export class SubmitService {
  private readonly maxPayloadBytes: number;

  constructor(
    private readonly producer: QueueProducer,
    private readonly contracts: TaskContractRegistry,
    private readonly quota: QuotaKeeper,
    @InjectMetric(METRIC.submitted) private readonly submitted: Counter<string>,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.maxPayloadBytes = config.get('MAX_PAYLOAD_BYTES', { infer: true });
  }

  /** `idempotencyKey`: the Idempotency-Key header, if any (the body's idempotency_key says the same). */
  async submit(principal: Principal, dto: SubmitTaskDto, idempotencyKey?: string): Promise<EnqueuedTask> {
    if (idempotencyKey !== undefined && dto.idempotency_key !== undefined && idempotencyKey !== dto.idempotency_key) {
      const message = 'the Idempotency-Key header and idempotency_key differ; give one, or both equal';
      throw badRequest([{ field: 'idempotency_key', rule: 'matchesHeader', message }]);
    }
    const [task] = await this.enqueue(principal, [
      this.toTaskFor(principal, { ...dto, idempotency_key: dto.idempotency_key ?? idempotencyKey }, ''),
    ]);
    return task;
  }

  /**
   * All-or-nothing: every task is checked before any is written (its size, MAX_BATCH_SIZE, by validation).
   * Two tasks of one queue's part that conflict with each other (equal unique tasks; one idempotency key
   * for two different tasks) refuse the whole batch, as a conflict with an earlier task does.
   */
  async submitBatch(principal: Principal, dtos: SubmitTaskDto[]): Promise<EnqueuedTask[]> {
    try {
      return await this.enqueue(
        principal,
        dtos.map((dto, i) => this.toTaskFor(principal, dto, `tasks.${i}.`)),
      );
    } catch (error) {
      if (error instanceof QueueError && error.sameCall) throw conflictInBatch(dtos, error.sameCall, error.written);
      throw error;
    }
  }

  /**
   * The quota is taken before the write (counted in Redis, so replicas cannot overrun it together;
   * in the steady state from this replica's lease, without a Redis call) and given back when nothing
   * was written: a refusal, Redis down before the write, or replays of
   * earlier tasks. A write that may have happened (a timeout) keeps it.
   */
  private async enqueue(principal: Principal, tasks: SizedTask[]): Promise<EnqueuedTask[]> {
    const bytes = tasks.reduce((sum, task) => sum + task.payloadBytes, 0);
    const reservation =
      principal.kind === 'none' ? undefined : await this.quota.reserve(principal, tasks.length, bytes);
    let enqueued: EnqueuedTask[];
    try {
      enqueued = await this.producer.enqueueMany(tasks);
    } catch (error) {
      // Another queue's part of a batch may be stored even when this one was refused (a conflict).
      const written = error instanceof QueueError && (error.maybeApplied || !!error.written?.length);
      if (reservation && !written) this.quota.refund(reservation);
      throw error;
    }
    if (reservation && enqueued.some((task) => task.replayed)) {
      const replayed = tasks.filter((_, i) => enqueued[i].replayed);
      this.quota.refund({
        ...reservation,
        tasks: replayed.length,
        bytes: replayed.reduce((sum, task) => sum + task.payloadBytes, 0),
      });
    }
    if (tasks.length === 1) {
      if (!enqueued[0].replayed) this.submitted.inc({ task_type: tasks[0].type, queue: tasks[0].queue });
      return enqueued;
    }
    // One increment per (type, queue) of the batch, not one per task; a replay is no new task.
    const counts = new Map<string, { task_type: string; queue: string; n: number }>();
    for (const [i, task] of tasks.entries()) {
      if (enqueued[i].replayed) continue;
      const key = `${task.type}\n${task.queue}`;
      const entry = counts.get(key);
      if (entry) entry.n++;
      else counts.set(key, { task_type: task.type, queue: task.queue, n: 1 });
    }
    for (const { task_type, queue, n } of counts.values()) this.submitted.inc({ task_type, queue }, n);
    return enqueued;
  }

  /** A submission the caller may make (its queue among the key's), as a sized queue task. */
  private toTaskFor(principal: Principal, dto: SubmitTaskDto, path: string): SizedTask {
    assertQueueAccess(principal, this.queueOf(dto), `${path}queue`);
    return this.toTask(dto, path);
  }

  /** The queue a submission goes to: its own, else its type's (a runtime type names one), else the default. */
  queueOf(dto: { task_type: string; queue?: string }): string {
    return dto.queue ?? this.contracts.get(dto.task_type)?.queue ?? DEFAULT_QUEUE;
  }

  /**
   * A submission as a queue task: registered type, payload size and contract, defaults resolved,
   * run_at ahead at most 365 days. `path` prefixes the fields the errors name (`tasks.3.`, `task.`).
   * Schedules check their task template with it too, so both take exactly the same tasks.
   */
  toTask(dto: SubmitTaskDto, path: string): SizedTask {
    const contract = this.contracts.get(dto.task_type);
    if (!contract) {
      throw badRequest([
        {
          field: `${path}task_type`,
          rule: 'isRegisteredTaskType',
          message: `${path}task_type "${dto.task_type}" is not a registered task type; known types: ${this.contracts.types().join(', ')}`,
        },
      ]);
    }
    const size = Buffer.byteLength(JSON.stringify(dto.payload));
    if (size > this.maxPayloadBytes) throw payloadTooLarge(`${path}payload`, this.maxPayloadBytes, size);
    const check = contract.check(dto.payload);
    if (!check.ok) {
      throw badRequest(
        check.violations.map<FieldError>((v) => ({
          field: `${path}${v.field}`,
          rule: v.rule,
          message: `${path}${v.message}`,
        })),
      );
    }
    const settings = this.contracts.settingsFor(dto.task_type);
    const runAt = dto.run_at !== undefined ? Date.parse(dto.run_at) : undefined;
    // Validation checked the form (RFC 3339); how far ahead depends on the clock, so it is checked here.
    if (runAt !== undefined && runAt - Date.now() > SUBMIT_LIMITS.delayMs.max) {
      const message = `${path}run_at is more than ${SUBMIT_LIMITS.delayMs.max} ms (365 days) ahead; like delay_ms, it may be at most that`;
      throw badRequest([{ field: `${path}run_at`, rule: 'maxAhead', message }]);
    }
    return {
      type: dto.task_type,
      queue: this.queueOf(dto),
      payload: dto.payload,
      priority: dto.priority ?? 0,
      maxRetries: dto.max_retries ?? settings.maxRetries,
      timeoutMs: dto.timeout_ms ?? settings.timeoutMs,
      delayMs: dto.delay_ms,
      runAt,
      idempotencyKey: dto.idempotency_key,
      uniqueForMs: dto.unique_for_ms,
      uniqueKey: dto.unique_key,
      backoff: dto.backoff === undefined ? this.runtimeBackoff(contract, settings) : toBackoff(dto.backoff, path),
      payloadBytes: size,
    };
  }

  /**
   * The backoff a runtime type defines, stored with each of its tasks: workers resolve a code type's
   * backoff from their own contracts, but know nothing of types defined at run time. It is the curve
   * of every type's default (exponential with full jitter) with the type's base and cap.
   */
  private runtimeBackoff(contract: TaskContract<unknown>, settings: TaskSettings): TaskBackoff | undefined {
    if (!contract.defaults?.backoff || this.contracts.sourceOf(contract.type) !== 'runtime') return undefined;
    return { type: 'exponential', baseMs: settings.backoff.baseMs, maxMs: settings.backoff.maxMs, jitter: true };
  }
}

/**
 * A validated backoff as the queue's. That max_ms is not under base_ms is checked here: the schema
 * cannot compare two fields.
 */
function toBackoff(dto: BackoffCurveDto | BackoffScheduleDto, path: string): TaskBackoff {
  if ('delays_ms' in dto) return { delaysMs: dto.delays_ms };
  if (dto.max_ms !== undefined && dto.max_ms < dto.base_ms) {
    const field = `${path}backoff.max_ms`;
    const message = `${field} (${dto.max_ms}) is less than base_ms (${dto.base_ms}); it caps every delay, so it must be at least base_ms`;
    throw badRequest([{ field, rule: 'atLeastBaseMs', message }]);
  }
  return { type: dto.type, baseMs: dto.base_ms, maxMs: dto.max_ms, jitter: dto.jitter ?? false };
}

/**
 * The 409 of a batch refused for a conflict between two of its own tasks, naming both; no
 * existing_task_id, since neither was written.
 */
function conflictInBatch(dtos: SubmitTaskDto[], { index, earlier, kind }: SameCallConflict, written?: string[]) {
  const dto = dtos[index];
  const unique = kind === 'unique';
  const field = `tasks.${index}.${unique ? (dto.unique_key !== undefined ? 'unique_key' : 'unique_for_ms') : 'idempotency_key'}`;
  const nothing = written?.length
    ? "Nothing of their queue was written (the batch's other queues were: written_task_ids)"
    : 'Nothing was written';
  const message = unique
    ? `tasks.${index} and tasks.${earlier} are equal unique tasks (${dto.unique_key !== undefined ? 'the same unique_key' : 'the same task_type and payload'}) of one queue: one by one, the second would be refused while the first is unfinished, and a queue's part of a batch is written whole or not at all. ${nothing}; send one of them`
    : `tasks.${index} and tasks.${earlier} have the same idempotency_key but are different tasks. ${nothing}; give them different keys`;
  return new ConflictException({
    statusCode: HttpStatus.CONFLICT,
    error: 'Conflict',
    message,
    errors: [{ field, rule: unique ? 'uniqueInBatch' : 'idempotencyKeyInBatch', message }],
    ...(written?.length ? { written_task_ids: written } : {}),
  });
}
