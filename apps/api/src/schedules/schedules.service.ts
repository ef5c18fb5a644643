import { Injectable, Logger } from '@nestjs/common';
import {
  isScheduleId,
  nextTicks,
  QueueError,
  QueueErrorCode,
  SCHEDULE_NAME_PATTERN,
  ScheduleDefinition,
  ScheduleRecord,
  ScheduleSpec,
  ScheduleSpecError,
  ScheduleStore,
  scheduleTiming,
  ScheduleTask,
  ScheduleView,
  TaskStatus,
} from '@app/queue';
import { ResultStoreError, TaskHistory } from '@app/results';
import { badRequest } from '../filters/api-errors';
import { SubmitTaskDto } from '../submit/dto/submit-task.dto';
import { SubmitService } from '../submit/submit.service';
import { DEFAULT_CATCH_UP_LIMIT, PatchScheduleDto, PutScheduleDto, ScheduleTaskDto } from './dto/schedule-body.dto';
import { ScheduleDto } from './dto/schedule.dto';

/** How many upcoming run times a schedule shows. */
const NEXT_RUNS = 5;

/** Whether the caller may see and change the schedules of a queue (every queue unless its credential is restricted). */
export type QueueVisible = (queue: string) => boolean;

const everyQueue: QueueVisible = () => true;

const notFound = (key: string) =>
  new QueueError(QueueErrorCode.NotFound, 'getSchedule', `schedule ${key} does not exist`);

/**
 * The name is taken by a schedule in a queue the caller may not use: said without its id or queue
 * (names are unique across queues, so that the name is taken cannot be hidden).
 */
const nameTakenElsewhere = (name: string) =>
  new QueueError(
    QueueErrorCode.Conflict,
    'createSchedule',
    `a schedule named ${name} exists in a queue this credential may not use; choose another name`,
  );

/** Schedules over HTTP: bodies into definitions (the task template checked as a submit is), views with their next runs. */
@Injectable()
export class SchedulesService {
  private readonly logger = new Logger(SchedulesService.name);

  constructor(
    private readonly store: ScheduleStore,
    private readonly submit: SubmitService,
    private readonly history: TaskHistory,
  ) {}

  async create(name: string, body: PutScheduleDto, visible: QueueVisible = everyQueue): Promise<ScheduleDto> {
    const definition = this.definition(name, body);
    await this.assertNameUsable(name, visible);
    const record = await this.specErrors(() => this.store.create(definition)).catch(async (error: unknown) => {
      // Taken meanwhile: the store's message names the holder, which the caller may not see.
      if (error instanceof QueueError && error.code === QueueErrorCode.Conflict)
        await this.assertNameUsable(name, visible);
      throw error;
    });
    return this.dto(record);
  }

  /** PUT by name: `created` when there was none of that name. */
  async put(
    name: string,
    body: PutScheduleDto,
    visible: QueueVisible = everyQueue,
  ): Promise<{ schedule: ScheduleDto; created: boolean }> {
    if (!SCHEDULE_NAME_PATTERN.test(name)) {
      const message = `name "${name}" must be 1-128 characters of [A-Za-z0-9_.:-] (a schedule_id is not a name)`;
      throw badRequest([{ field: 'name', rule: 'matches', message }]);
    }
    const definition = this.definition(name, body);
    await this.assertNameUsable(name, visible);
    const { record, created } = await this.specErrors(() => this.store.upsert(definition)).catch(
      async (error: unknown) => {
        if (error instanceof QueueError && error.code === QueueErrorCode.Conflict) {
          await this.assertNameUsable(name, visible);
        }
        throw error;
      },
    );
    return { schedule: await this.dto(record), created };
  }

  async patch(key: string, body: PatchScheduleDto, visible: QueueVisible = everyQueue): Promise<ScheduleDto> {
    const current = await this.resolve(key, visible);
    const record = await this.specErrors(() =>
      this.store.update(current.id, (latest) => ({
        name: latest.name,
        spec: this.patchedSpec(latest.spec, body),
        task: body.task !== undefined ? this.task(body.task) : latest.task,
        enabled: body.enabled ?? latest.enabled,
        missed: body.missed ?? latest.missed,
        catchUpLimit: body.catch_up_limit ?? latest.catchUpLimit,
      })),
    );
    return this.dto(record);
  }

  async remove(key: string, visible: QueueVisible = everyQueue): Promise<void> {
    await this.store.remove((await this.resolve(key, visible)).id);
  }

  async get(key: string, visible: QueueVisible = everyQueue): Promise<ScheduleDto> {
    return this.dto(await this.resolve(key, visible));
  }

  /**
   * A page of the schedules of `queues` by name (see ScheduleStore.page): only the page's schedules
   * are read and get their next runs computed.
   */
  async page(
    queues: string[],
    cursor: string | undefined,
    limit: number,
  ): Promise<{ schedules: ScheduleDto[]; next: string | null }> {
    const { records, next } = await this.store.page(queues, cursor, limit);
    const views = await Promise.all(records.map((record) => this.view(record, false)));
    const archived = await this.archivedStatuses(views);
    return { schedules: views.map((view) => this.toDto(view, archived)), next };
  }

  /**
   * A schedule_id or a name (names never contain the id's "~"). A schedule in a queue the caller may
   * not see is answered as missing: a queue-limited credential learns nothing of other queues' names.
   */
  private async resolve(key: string, visible: QueueVisible = everyQueue): Promise<ScheduleRecord> {
    const record = isScheduleId(key) ? await this.store.find(key) : await this.store.findByName(key);
    if (!record || !visible(record.task.queue)) throw notFound(key);
    return record;
  }

  /** Conflict, without naming the holder, when the name belongs to a schedule of a queue the caller may not use. */
  private async assertNameUsable(name: string, visible: QueueVisible): Promise<void> {
    if (visible === everyQueue) return;
    const holder = await this.store.findByName(name);
    if (holder && !visible(holder.task.queue)) throw nameTakenElsewhere(name);
  }

  private definition(name: string, body: PutScheduleDto): ScheduleDefinition {
    const spec: ScheduleSpec =
      body.every_ms !== undefined ? { everyMs: body.every_ms } : { cron: body.cron!, tz: body.tz ?? 'UTC' };
    this.checkSpec(spec);
    return {
      name,
      spec,
      task: this.task(body.task),
      enabled: body.enabled ?? true,
      missed: body.missed ?? 'skip',
      catchUpLimit: body.catch_up_limit ?? DEFAULT_CATCH_UP_LIMIT,
    };
  }

  private patchedSpec(current: ScheduleSpec, body: PatchScheduleDto): ScheduleSpec {
    const currentTz = 'cron' in current ? current.tz : undefined;
    let spec: ScheduleSpec;
    if (body.every_ms !== undefined) spec = { everyMs: body.every_ms };
    else if (body.cron !== undefined) spec = { cron: body.cron, tz: body.tz ?? currentTz ?? 'UTC' };
    else if (body.tz !== undefined) {
      if (!('cron' in current)) {
        const message = 'tz applies to a cron schedule; this one fires every_ms (give cron with it to switch)';
        throw badRequest([{ field: 'tz', rule: 'withCron', message }]);
      }
      spec = { cron: current.cron, tz: body.tz };
    } else spec = current;
    this.checkSpec(spec);
    return spec;
  }

  /** The queue a template's tasks go to (a runtime type names its own), as a submit's. */
  queueOf(task: ScheduleTaskDto): string {
    return this.submit.queueOf(task);
  }

  /** The template, checked and completed exactly as a POST /submit body is. */
  private task(dto: ScheduleTaskDto): ScheduleTask {
    const task = this.submit.toTask(dto as SubmitTaskDto, 'task.');
    return {
      type: task.type,
      queue: task.queue,
      payload: task.payload,
      priority: task.priority,
      maxRetries: task.maxRetries,
      timeoutMs: task.timeoutMs,
    };
  }

  private checkSpec(spec: ScheduleSpec): void {
    this.specErrors(() => scheduleTiming(spec, Date.now()));
  }

  /** A spec the timing refuses is the client's: 400 naming cron, tz or every_ms and the rule. */
  private specErrors<T>(run: () => T): T {
    try {
      const result = run();
      if (result instanceof Promise) {
        return result.catch((error: unknown) => {
          throw this.asBadRequest(error);
        }) as T;
      }
      return result;
    } catch (error) {
      throw this.asBadRequest(error);
    }
  }

  private asBadRequest(error: unknown): unknown {
    if (!(error instanceof ScheduleSpecError)) return error;
    return badRequest([{ field: error.field, rule: error.rule, message: error.message }]);
  }

  /** The answer for a schedule: read again (`fresh`, after a write) or as given, with its next runs. */
  /** The answer for a schedule: read again (`fresh`, after a write) or as given, with its next runs. */
  private async dto(record: ScheduleRecord, fresh = true): Promise<ScheduleDto> {
    const view = await this.view(record, fresh);
    return this.toDto(view, await this.archivedStatuses([view]));
  }

  private view(record: ScheduleRecord, fresh = true): Promise<ScheduleView> {
    const read = fresh ? this.store.view(record.id) : this.store.viewOf(record);
    return read.catch((error: unknown) => {
      // Deleted between the write and this read: show what was written.
      if (error instanceof QueueError && error.code === QueueErrorCode.NotFound)
        return { ...record, lastTaskStatus: null };
      throw error;
    });
  }

  /**
   * With RESULTS_BACKEND=postgres a schedule's last task has usually left Redis once finished: the
   * statuses of those that did, from the history, in one query. PostgreSQL unreachable: none (the
   * status shows null, and the rest of the schedule as usual).
   */
  private async archivedStatuses(views: ScheduleView[]): Promise<Map<string, TaskStatus>> {
    const gone = views.flatMap((view) => (view.lastTaskId && view.lastTaskStatus === null ? [view.lastTaskId] : []));
    if (!gone.length || !this.history.enabled) return new Map();
    try {
      return await this.history.statuses(gone);
    } catch (error) {
      if (!(error instanceof ResultStoreError) || error.code !== 'unavailable') throw error;
      this.logger.warn({ msg: `last task statuses unavailable: ${error.message}` });
      return new Map();
    }
  }

  private toDto(stored: ScheduleView, archived: Map<string, TaskStatus>): ScheduleDto {
    const view =
      stored.lastTaskStatus === null && stored.lastTaskId && archived.has(stored.lastTaskId)
        ? { ...stored, lastTaskStatus: archived.get(stored.lastTaskId)! }
        : stored;
    let runs: number[] = [];
    if (view.enabled && view.nextRunAt !== null) {
      runs = [view.nextRunAt];
      try {
        runs.push(...nextTicks(scheduleTiming(view.spec, Date.now()), view.nextRunAt, NEXT_RUNS - 1));
      } catch (error) {
        // A stored spec this version cannot read (the scheduler logs it): show the one run known.
        if (!(error instanceof ScheduleSpecError)) throw error;
      }
    }
    return ScheduleDto.from(view, runs);
  }
}
