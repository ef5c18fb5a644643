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

/** Schedules over HTTP: bodies into definitions (the task template checked as a submit is), views with their next runs. */
@Injectable()
export class SchedulesService {
  private readonly logger = new Logger(SchedulesService.name);

  constructor(
    private readonly store: ScheduleStore,
    private readonly submit: SubmitService,
    private readonly history: TaskHistory,
  ) {}

  async create(name: string, body: PutScheduleDto): Promise<ScheduleDto> {
    const record = await this.specErrors(() => this.store.create(this.definition(name, body)));
    return this.dto(record);
  }

  /** PUT by name: `created` when there was none of that name. */
  async put(name: string, body: PutScheduleDto): Promise<{ schedule: ScheduleDto; created: boolean }> {
    if (!SCHEDULE_NAME_PATTERN.test(name)) {
      const message = `name "${name}" must be 1-128 characters of [A-Za-z0-9_.:-] (a schedule_id is not a name)`;
      throw badRequest([{ field: 'name', rule: 'matches', message }]);
    }
    const { record, created } = await this.specErrors(() => this.store.upsert(this.definition(name, body)));
    return { schedule: await this.dto(record), created };
  }

  async patch(key: string, body: PatchScheduleDto): Promise<ScheduleDto> {
    const current = await this.resolve(key);
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

  async remove(key: string): Promise<void> {
    await this.store.remove((await this.resolve(key)).id);
  }

  async get(key: string): Promise<ScheduleDto> {
    return this.dto(await this.resolve(key));
  }

  async list(): Promise<ScheduleDto[]> {
    const views = await Promise.all((await this.store.list()).map((record) => this.view(record)));
    const archived = await this.archivedStatuses(views);
    return views.map((view) => this.toDto(view, archived));
  }

  /** A schedule_id or a name (names never contain the id's "~"). */
  private async resolve(key: string): Promise<ScheduleRecord> {
    const record = isScheduleId(key) ? await this.store.get(key) : await this.store.findByName(key);
    if (!record) throw new QueueError(QueueErrorCode.NotFound, 'getSchedule', `schedule ${key} does not exist`);
    return record;
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

  private async dto(record: ScheduleRecord): Promise<ScheduleDto> {
    const view = await this.view(record);
    return this.toDto(view, await this.archivedStatuses([view]));
  }

  private view(record: ScheduleRecord): Promise<ScheduleView> {
    return this.store.view(record.id).catch((error: unknown) => {
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
