import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { assertScriptInt, QueueError, QueueErrorCode, redisCall, SCRIPT_CODE } from '../errors/queue-error';
import {
  queueChannels,
  QueueKeys,
  queueKeys,
  queueOfScheduleId,
  scheduleNamesKey,
  schedulesIndexedKey,
  taskIdPrefix,
} from '../keys/queue-keys';
import { QueueRegistry, REGISTER_ATTEMPTS } from '../queue-registry';
import { QUEUE_OPTIONS } from '../queue.module-definition';
import { QueueModuleOptions } from '../queue.options';
import { InjectRedis } from '../redis/inject-redis.decorator';
import { QueueRedis } from '../scripts/script-loader';
import { TaskStatus } from '../task';
import {
  activateSchedule,
  claimScheduleName,
  deleteSchedule,
  fireSchedule,
  indexSchedule,
  releaseScheduleName,
  saveSchedule,
} from './schedule-scripts';
import { DueSchedule, FireResult, ScheduleDefinition, ScheduleRecord, ScheduleView } from './schedule';
import { MissedPolicy, ScheduleSpec, scheduleTiming } from './schedule-timing';

/**
 * How long a schedule written by a create may stay pending (not yet named, never fired) before
 * Redis drops it: a create that died between its steps leaves nothing behind for longer.
 */
const PENDING_TTL_MS = 30_000;
/** Attempts of a read-modify-write that lost a race with another edit (compare-and-set). */
const EDIT_ATTEMPTS = 3;

/** Schedules list() reads per page. */
const LIST_PAGE = 500;
/** Index entries read per queue at a time at least, when a page merges several queues' indexes. */
const INDEX_CHUNK_MIN = 10;
/**
 * Appended to a name, a lex bound just past every index member of that name (`<name> <id>`): `!`
 * sorts after the space and before every character a name may hold.
 */
const AFTER_NAME = '!';

/** The name of an index member `<name> <schedule id>`. */
const nameOfMember = (member: string) => member.slice(0, member.indexOf(' '));

/** Thrown inside the store when an update lost its compare-and-set; retried with a fresh read. */
class RevisionChanged extends Error {}

const num = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));

function parsePayload(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** A schedule hash as a record; undefined when it is missing or still pending (not yet created). */
function toRecord(hash: Record<string, string>): ScheduleRecord | undefined {
  if (!hash.rev || hash.pending) return undefined;
  const spec: ScheduleSpec = hash.cron ? { cron: hash.cron, tz: hash.tz } : { everyMs: Number(hash.every_ms) };
  return {
    id: hash.id,
    name: hash.name,
    spec,
    task: {
      type: hash.task_type,
      queue: hash.queue,
      payload: parsePayload(hash.payload),
      priority: Number(hash.priority),
      maxRetries: Number(hash.max_retries),
      timeoutMs: Number(hash.timeout_ms),
    },
    enabled: hash.enabled === '1',
    missed: hash.missed as MissedPolicy,
    catchUpLimit: Number(hash.catch_up_limit),
    rev: Number(hash.rev),
    nextRunAt: num(hash.next_run_at),
    lastRunAt: num(hash.last_run_at),
    lastFiredAt: num(hash.last_fired_at),
    lastTaskId: hash.last_task_id || null,
    runs: Number(hash.runs ?? 0),
    createdAt: Number(hash.created_at),
    updatedAt: Number(hash.updated_at),
  };
}

/** The definition in the order saveSchedule-2.lua takes it (ARGV[7..19]). */
function definitionArgs(def: ScheduleDefinition): (string | number)[] {
  const cron = 'cron' in def.spec ? def.spec : undefined;
  const every = 'everyMs' in def.spec ? assertScriptInt('saveSchedule', 'everyMs', def.spec.everyMs) : '';
  return [
    def.name,
    def.task.queue,
    cron?.cron ?? '',
    every,
    cron?.tz ?? '',
    def.task.type,
    JSON.stringify(def.task.payload ?? null),
    assertScriptInt('saveSchedule', 'priority', def.task.priority),
    assertScriptInt('saveSchedule', 'maxRetries', def.task.maxRetries),
    assertScriptInt('saveSchedule', 'timeoutMs', def.task.timeoutMs),
    def.enabled ? '1' : '0',
    def.missed,
    assertScriptInt('saveSchedule', 'catchUpLimit', def.catchUpLimit),
  ];
}

/** Two definitions that would be stored identically (an upsert of one over the other writes nothing). */
export function sameDefinition(a: ScheduleDefinition, b: ScheduleDefinition): boolean {
  return JSON.stringify(definitionArgs(a)) === JSON.stringify(definitionArgs(b));
}

const sameSpec = (a: ScheduleSpec, b: ScheduleSpec) => JSON.stringify(a) === JSON.stringify(b);

const notFound = (op: string, what: string) =>
  new QueueError(QueueErrorCode.NotFound, op, `schedule ${what} does not exist`);

/**
 * Schedules in Redis: each one a hash in its queue's slot (`{queue}:sched:<id>`), listed while enabled
 * in the queue's schedules ZSET by next run, and named in one name index (the only key outside a
 * queue's slot, always used alone). Every write is a script with a compare-and-set where a race is
 * possible; firing is fireSchedule-6.lua (one task per tick, whatever the number of replicas).
 *
 * Creating spans two slots (the schedule, then its name), so it goes: write the schedule pending
 * (it expires unless activated, and never fires while pending) → claim the name (compare-and-set) →
 * activate. A create that dies between the steps leaves a pending hash that expires, and perhaps a
 * name entry pointing at nothing, which readers ignore and the next create of that name takes over.
 */
@Injectable()
export class ScheduleStore implements OnApplicationBootstrap {
  /** ensureIndexed's run in this process. */
  private indexed?: Promise<void>;

  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
    private readonly registry: QueueRegistry,
  ) {}

  /**
   * A new schedule. Conflict when the name is taken (the message names its id); LimitReached past
   * MAX_QUEUES, or past MAX_SCHEDULES in its queue.
   */
  async create(def: ScheduleDefinition, now = Date.now()): Promise<ScheduleRecord> {
    const timing = scheduleTiming(def.spec, now);
    const stored: ScheduleDefinition = { ...def, spec: timing.spec };
    const queue = def.task.queue;
    // The cap counts the index: schedules of an earlier version must be in it.
    await this.ensureIndexed();
    await this.registry.register([queue]);
    const id = `${queue}~${randomUUID()}`;
    const next = def.enabled ? (timing.nextAfter(now) ?? 0) : 0;
    await this.save('create', id, 0, next, stored);
    let named = false;
    try {
      await this.claimName(def.name, id);
      named = true;
      await this.activate(id, def.name);
    } catch (error) {
      // Best effort: a pending hash expires by itself, a stale name entry is ignored by readers.
      await this.discardPending(id, named ? def.name : undefined).catch(() => undefined);
      throw error;
    }
    return this.get(id);
  }

  /**
   * PUT by name: creates the schedule, or updates the one of that name. A definition equal to the
   * stored one writes nothing, so a deploy may declare its schedules at every start. Conflict when
   * the queue would change (a schedule lives in its queue's slot: delete it and create it anew).
   */
  async upsert(
    def: ScheduleDefinition,
    now = Date.now(),
  ): Promise<{ record: ScheduleRecord; created: boolean; changed: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const existing = await this.findByName(def.name);
      try {
        if (!existing) return { record: await this.create(def, now), created: true, changed: true };
        const record = await this.updateFrom(existing, def, now);
        return { record, created: false, changed: record.rev !== existing.rev };
      } catch (error) {
        // Lost a race with another create or edit of this name: read again.
        const raced =
          error instanceof RevisionChanged ||
          (!existing && error instanceof QueueError && error.code === QueueErrorCode.Conflict);
        if (!raced || attempt >= EDIT_ATTEMPTS) throw this.revisionConflict(error, def.name);
      }
    }
  }

  /**
   * PATCH: `change` turns the current record into the new definition; written if the schedule was
   * not edited meanwhile (read again and retried otherwise). An unchanged definition writes nothing.
   */
  async update(
    id: string,
    change: (current: ScheduleRecord) => ScheduleDefinition,
    now = Date.now(),
  ): Promise<ScheduleRecord> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id);
      try {
        return await this.updateFrom(current, change(current), now);
      } catch (error) {
        if (!(error instanceof RevisionChanged) || attempt >= EDIT_ATTEMPTS) throw this.revisionConflict(error, id);
      }
    }
  }

  /** Deletes a schedule (it fires no more), then its name. NotFound when there is none. */
  async remove(id: string): Promise<void> {
    const queue = queueOfScheduleId(id);
    if (queue === undefined) throw notFound('deleteSchedule', id);
    const {
      code,
      details: [name],
    } = await redisCall('deleteSchedule', () => deleteSchedule.run(this.redis, this.scheduleKeys(id), { id }));
    if (code !== 1) throw notFound('deleteSchedule', id);
    await redisCall('deleteSchedule', () =>
      releaseScheduleName.run(this.redis, { names: scheduleNamesKey(this.options.prefix) }, { name: name!, id }),
    );
  }

  async get(id: string): Promise<ScheduleRecord> {
    const record = await this.read(id);
    if (!record) throw notFound('getSchedule', id);
    return record;
  }

  /** The schedule of that id, if any (a pending one counts as none). */
  async find(id: string): Promise<ScheduleRecord | undefined> {
    return this.read(id);
  }

  /** The record and the status of the latest task it enqueued (null once that task expired). */
  async view(id: string): Promise<ScheduleView> {
    return this.viewOf(await this.get(id));
  }

  /** A record read already, with the status of the latest task it enqueued. */
  async viewOf(record: ScheduleRecord): Promise<ScheduleView> {
    let lastTaskStatus: TaskStatus | null = null;
    if (record.lastTaskId) {
      const status = await redisCall('getSchedule', () =>
        this.redis.hget(
          `${queueKeys(this.options.prefix, record.task.queue).taskPrefix}${record.lastTaskId}`,
          'status',
        ),
      );
      lastTaskStatus = (status as TaskStatus | null) ?? null;
    }
    return { ...record, lastTaskStatus };
  }

  /** The schedule of that name, if any (a stale name entry counts as none). */
  async findByName(name: string): Promise<ScheduleRecord | undefined> {
    const id = await redisCall('getSchedule', () => this.redis.hget(scheduleNamesKey(this.options.prefix), name));
    if (!id) return undefined;
    const record = await this.read(id);
    return record?.name === name ? record : undefined;
  }

  /** Every schedule, by name, read a page at a time (the metrics' schedule gauges, tests). */
  async list(): Promise<ScheduleRecord[]> {
    const queues = await this.registry.list();
    const records: ScheduleRecord[] = [];
    let after: string | undefined;
    do {
      const page = await this.page(queues, after, LIST_PAGE);
      records.push(...page.records);
      after = page.next ?? undefined;
    } while (after !== undefined);
    return records;
  }

  /**
   * One page of the schedules of `queues`, by name: those named after `after` (a name; none for the
   * first page), at most `limit`, and the name to go on from when more follow. Reads the queues' schedule
   * indexes a chunk at a time and merges them, so a page costs about `limit` entries and one chunk per
   * queue, however many schedules exist; only the page's schedules are read. A schedule deleted between
   * the index and its read is left out (the page is then short).
   */
  async page(
    queues: string[],
    after: string | undefined,
    limit: number,
  ): Promise<{ records: ScheduleRecord[]; next: string | null }> {
    await this.ensureIndexed();
    const members = await this.mergedIndexes(queues, after, limit + 1);
    const shown = members.slice(0, limit);
    const next = members.length > limit ? nameOfMember(shown[shown.length - 1]) : null;
    const records = await Promise.all(
      shown.map(async (member) => {
        const id = member.slice(member.indexOf(' ') + 1);
        const record = await this.read(id);
        return record?.name === nameOfMember(member) ? record : undefined;
      }),
    );
    return { records: records.filter((record): record is ScheduleRecord => !!record), next };
  }

  onApplicationBootstrap(): void {
    // At boot (once the connection is ready: commands are not queued offline) rather than at the first
    // request that needs it, so a request refused later writes no key, the flag included. Not awaited: a
    // Redis that is not there yet must not hold the boot; a run that fails here is run again by the first
    // request that needs the indexes.
    const run = () => void this.ensureIndexed().catch(() => undefined);
    if (this.redis.status === 'ready') run();
    else this.redis.once('ready', run);
  }

  /**
   * Puts every schedule written by a version without per-queue schedule indexes into its queue's index,
   * once per deployment (a flag key says it was done) and once per process: listings, MAX_SCHEDULES
   * and forgetting a queue read the indexes.
   */
  ensureIndexed(): Promise<void> {
    this.indexed ??= this.indexEarlierSchedules().catch((error: unknown) => {
      this.indexed = undefined;
      throw error;
    });
    return this.indexed;
  }

  /** The queue's enabled schedules with the soonest next runs first, at most `limit`, skipping the first `offset`. */
  async due(queue: string, limit: number, offset = 0): Promise<DueSchedule[]> {
    const key = queueKeys(this.options.prefix, queue).schedules;
    const flat = await redisCall('dueSchedules', () =>
      this.redis.zrange(key, offset, offset + limit - 1, 'WITHSCORES'),
    );
    const out: DueSchedule[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i], nextRunAt: Number(flat[i + 1]) });
    return out;
  }

  /**
   * Enqueues one task per tick and moves the schedule's next run on, if the schedule is still at
   * revision `rev` and waits for `expected` (see fireSchedule-6.lua). `ticks` may be empty: the
   * due ticks are skipped and only the next run moves.
   */
  async fire(
    id: string,
    plan: { rev: number; expected: number; ticks: number[]; next: number | null },
  ): Promise<FireResult> {
    const queue = queueOfScheduleId(id);
    if (queue === undefined) throw notFound('fireSchedule', id);
    const keys = queueKeys(this.options.prefix, queue);
    const { code, now, taskIds } = await redisCall('fireSchedule', () =>
      fireSchedule.run(
        this.redis,
        { ...keys, schedule: `${keys.schedulePrefix}${id}` },
        {
          taskPrefix: keys.taskPrefix,
          id,
          rev: assertScriptInt('fireSchedule', 'rev', plan.rev),
          expectedTick: assertScriptInt('fireSchedule', 'expected', plan.expected),
          nextRun: assertScriptInt('fireSchedule', 'next', plan.next ?? 0),
          idPrefix: taskIdPrefix(queue),
          ticks: plan.ticks.map((tick) => assertScriptInt('fireSchedule', 'tick', tick)),
        },
      ),
    );
    if (code >= 0) return { outcome: 'fired', taskIds, now };
    if (code === SCRIPT_CODE.NotDue) return { outcome: 'not_due', now };
    return { outcome: 'stale' };
  }

  private async updateFrom(current: ScheduleRecord, def: ScheduleDefinition, now: number): Promise<ScheduleRecord> {
    if (def.task.queue !== current.task.queue) {
      throw new QueueError(
        QueueErrorCode.Conflict,
        'updateSchedule',
        `schedule ${current.name} enqueues into queue ${current.task.queue}; a schedule's queue cannot change (delete it and create it again with queue ${def.task.queue})`,
      );
    }
    if (def.name !== current.name) {
      throw new QueueError(QueueErrorCode.BadArgument, 'updateSchedule', 'a schedule keeps its name');
    }
    const timing = scheduleTiming(def.spec, now);
    const stored: ScheduleDefinition = { ...def, spec: timing.spec };
    if (sameDefinition(stored, current)) return current;
    // A new spec, or enabling, starts from the next tick after now; other edits keep the tick it
    // waits for (it may be due right now: moving it would skip that tick).
    const restart = !sameSpec(timing.spec, current.spec) || !current.enabled || current.nextRunAt === null;
    const next = !def.enabled ? 0 : restart ? (timing.nextAfter(now) ?? 0) : -1;
    const [code] = await this.save('update', current.id, current.rev, next, stored);
    if (code === SCRIPT_CODE.NotFound) throw notFound('updateSchedule', current.id);
    if (code !== 1) throw new RevisionChanged();
    return this.get(current.id);
  }

  private async save(
    mode: 'create' | 'update',
    id: string,
    rev: number,
    next: number,
    def: ScheduleDefinition,
  ): Promise<[number, number]> {
    const op = mode === 'create' ? 'createSchedule' : 'updateSchedule';
    const [code, stored] = await redisCall(op, () =>
      saveSchedule.run(this.redis, this.scheduleKeys(id), {
        id,
        mode,
        rev,
        nextRun: assertScriptInt(op, 'nextRun', next),
        pendingTtlMs: PENDING_TTL_MS,
        channel: queueChannels(this.options.prefix).schedules,
        definition: definitionArgs(def),
      }),
    );
    if (mode === 'create' && code !== 1) {
      throw new QueueError(QueueErrorCode.Conflict, op, `schedule id ${id} exists already`);
    }
    return [code, stored ?? 0];
  }

  /**
   * Points the name at `id`. A name held by a live schedule (or one being created) is a Conflict; a
   * stale entry is taken over, by one caller only (compare-and-set on what was seen).
   */
  private async claimName(name: string, id: string): Promise<void> {
    const key = scheduleNamesKey(this.options.prefix);
    let seen = '';
    for (let attempt = 0; attempt < EDIT_ATTEMPTS; attempt++) {
      const {
        code,
        details: [current],
      } = await redisCall('createSchedule', () =>
        claimScheduleName.run(this.redis, { names: key }, { name, id, seen }),
      );
      if (code === 1) return;
      const holder = String(current);
      const hash = await this.readHash(holder);
      if (hash.name === name) {
        throw new QueueError(
          QueueErrorCode.Conflict,
          'createSchedule',
          hash.pending
            ? `a schedule named ${name} is being created right now (${holder})`
            : `a schedule named ${name} exists already (${holder}); change it with PATCH or PUT /schedules/${name}`,
        );
      }
      seen = holder;
    }
    throw new QueueError(QueueErrorCode.Conflict, 'createSchedule', `the name ${name} is being claimed concurrently`);
  }

  private async discardPending(id: string, name: string | undefined): Promise<void> {
    const hash = await this.readHash(id);
    if (hash.pending) await deleteSchedule.run(this.redis, this.scheduleKeys(id), { id });
    if (name) await releaseScheduleName.run(this.redis, { names: scheduleNamesKey(this.options.prefix) }, { name, id });
  }

  /**
   * Makes a pending schedule active (activateSchedule-4.lua). Its queue forgotten since it was
   * registered: registered again and retried. LimitReached at MAX_SCHEDULES.
   */
  private async activate(id: string, name: string): Promise<void> {
    const queue = queueOfScheduleId(id)!;
    const max = this.options.maxSchedules ?? 0;
    for (let attempt = 1; ; attempt++) {
      const [code, count] = await redisCall('createSchedule', () =>
        activateSchedule.run(this.redis, this.scheduleKeys(id), {
          id,
          channel: queueChannels(this.options.prefix).schedules,
          maxSchedules: max,
        }),
      );
      if (code === 1) return;
      if (code === SCRIPT_CODE.LimitReached) {
        throw new QueueError(
          QueueErrorCode.LimitReached,
          'createSchedule',
          `queue ${queue} holds ${Number(count)} schedules; at most ${max} per queue (MAX_SCHEDULES). Delete unused ones or raise MAX_SCHEDULES.`,
        );
      }
      if (code !== SCRIPT_CODE.Unregistered || attempt >= REGISTER_ATTEMPTS) {
        throw new QueueError(
          QueueErrorCode.Unavailable,
          'createSchedule',
          code === SCRIPT_CODE.Unregistered
            ? `queue ${queue} was forgotten ${attempt} times while schedule ${name} was created; nothing was created, try again`
            : `schedule ${name} was not activated within ${PENDING_TTL_MS} ms of being written; nothing was created, try again`,
        );
      }
      await this.registry.register([queue]);
    }
  }

  /** The members of the queues' indexes after `after` (a name), merged by name, at most `count`. */
  private async mergedIndexes(queues: string[], after: string | undefined, count: number): Promise<string[]> {
    if (queues.length === 0) return [];
    // A chunk per queue: enough that a page from one queue takes one read, small when many queues share it.
    const chunk = Math.min(count, Math.max(INDEX_CHUNK_MIN, Math.ceil(count / queues.length) + 1));
    const start = after === undefined ? '-' : `[${after}${AFTER_NAME}`;
    const streams = queues.map((queue) => ({
      key: queueKeys(this.options.prefix, queue).scheduleIndex,
      from: start,
      buffer: [] as string[],
      done: false,
    }));
    const out: string[] = [];
    while (out.length < count) {
      const drained = streams.filter((stream) => !stream.done && stream.buffer.length === 0);
      if (drained.length > 0) {
        const replies = await redisCall('listSchedules', () =>
          Promise.all(drained.map((stream) => this.redis.zrangebylex(stream.key, stream.from, '+', 'LIMIT', 0, chunk))),
        );
        drained.forEach((stream, i) => {
          stream.buffer = replies[i];
          stream.done = replies[i].length < chunk;
          if (replies[i].length > 0) stream.from = `(${replies[i][replies[i].length - 1]}`;
        });
      }
      let first: (typeof streams)[number] | undefined;
      for (const stream of streams) {
        if (stream.buffer.length > 0 && (!first || stream.buffer[0] < first.buffer[0])) first = stream;
      }
      if (!first) break;
      out.push(first.buffer.shift()!);
    }
    return out;
  }

  private async indexEarlierSchedules(): Promise<void> {
    const flag = schedulesIndexedKey(this.options.prefix);
    if (await redisCall('indexSchedules', () => this.redis.exists(flag))) return;
    const names = scheduleNamesKey(this.options.prefix);
    let cursor = '0';
    let seen = 0;
    do {
      const [nextCursor, flat] = await redisCall('indexSchedules', () => this.redis.hscan(names, cursor, 'COUNT', 500));
      cursor = nextCursor;
      const pairs: [string, string][] = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
      seen += pairs.length;
      await redisCall('indexSchedules', () =>
        Promise.all(
          pairs
            .filter(([, id]) => queueOfScheduleId(id) !== undefined)
            .map(([name, id]) => indexSchedule.run(this.redis, this.scheduleKeys(id), { id, name })),
        ),
      );
    } while (cursor !== '0');
    // No schedule at all: nothing to remember (and a process that finds none writes no key).
    if (seen === 0) return;
    await redisCall('indexSchedules', () => this.redis.set(flag, '1'));
  }

  private revisionConflict(error: unknown, what: string): unknown {
    if (!(error instanceof RevisionChanged)) return error;
    return new QueueError(
      QueueErrorCode.Conflict,
      'updateSchedule',
      `schedule ${what} was changed by other requests ${EDIT_ATTEMPTS} times while this one was applied; try again`,
    );
  }

  /** The keys of the schedule's queue, with `schedule`: the schedule's own hash. */
  private scheduleKeys(id: string): QueueKeys & { schedule: string } {
    const keys = queueKeys(this.options.prefix, queueOfScheduleId(id)!);
    return { ...keys, schedule: `${keys.schedulePrefix}${id}` };
  }

  private async readHash(id: string): Promise<Record<string, string>> {
    const queue = queueOfScheduleId(id);
    if (queue === undefined) return {};
    const key = `${queueKeys(this.options.prefix, queue).schedulePrefix}${id}`;
    return redisCall('getSchedule', () => this.redis.hgetall(key));
  }

  private async read(id: string): Promise<ScheduleRecord | undefined> {
    return toRecord(await this.readHash(id));
  }
}
