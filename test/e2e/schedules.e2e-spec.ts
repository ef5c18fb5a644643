import { queueKeys } from '@app/queue';
import { AppProcess, http, OwnRedis, scanKeys, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(120_000);

/** One task a schedule enqueued, as Redis holds it. */
interface ScheduledTask {
  id: string;
  scheduledAt: number;
  payload: unknown;
}

/** Every task of `scheduleId` in the queue, by tick. */
async function tasksOf(stack: Stack, scheduleId: string, queue = 'default'): Promise<ScheduledTask[]> {
  const prefix = queueKeys(stack.prefix, queue).taskPrefix;
  const keys = await scanKeys(stack.redis, `${prefix}*`);
  const out: ScheduledTask[] = [];
  for (const key of keys) {
    const [schedule, at, payload] = await stack.redis.hmget(key, 'schedule_id', 'scheduled_at', 'payload');
    if (schedule === scheduleId)
      out.push({ id: key.slice(prefix.length), scheduledAt: Number(at), payload: JSON.parse(payload!) });
  }
  return out.sort((a, b) => a.scheduledAt - b.scheduledAt);
}

/** What must hold of a schedule's tasks: one per tick, no tick twice, none missing in between. */
function ticksOnceEach(tasks: ScheduledTask[], periodMs: number) {
  const ticks = tasks.map((t) => t.scheduledAt);
  return {
    duplicates: ticks.filter((tick, i) => ticks.indexOf(tick) !== i),
    gaps: ticks.slice(1).filter((tick, i) => tick - ticks[i] !== periodMs),
    offGrid: ticks.filter((tick) => tick % periodMs !== 0),
  };
}

const noProblems = { duplicates: [], gaps: [], offGrid: [] };

/**
 * Whether the create's answer named the schedule's first tick `first` (1-second ticks). The answer's
 * next_run_at is read after the schedule went live: on a slow host (a Cluster, a loaded CI machine) the first
 * tick may have fired by then, and the answer names a later one of the same grid, never an earlier one.
 */
function firstTickAnswered(nextRunAt: string, first: number): boolean {
  const ahead = Date.parse(nextRunAt) - first;
  return ahead >= 0 && ahead % 1000 === 0;
}

async function createSchedule(stack: Stack, body: Record<string, unknown>) {
  const res = await http('POST', `${stack.api.url}/schedules`, body);
  if (res.status !== 201) throw new Error(`POST /schedules answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as { schedule_id: string; next_run_at: string; runs: number };
}

/** Waits until the schedule has enqueued `runs` tasks in all (polled in Redis, with a deadline). */
async function waitForRuns(stack: Stack, scheduleId: string, runs: number, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const res = await http('GET', `${stack.api.url}/schedules/${scheduleId}`);
      return res.status === 200 && res.body.runs >= runs ? res.body : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `schedule ${scheduleId} to reach ${runs} runs` },
  );
}

/** The worker whose log says it enqueued `taskId`. */
function firedBy(workers: AppProcess[], taskId: string): AppProcess | undefined {
  return workers.find(
    (w) => w.logs((l) => Array.isArray(l.taskIds) && (l.taskIds as string[]).includes(taskId)).length > 0,
  );
}

const echo = (payload: unknown) => ({ task_type: 'echo', payload });

describe('schedules over real processes: one task per tick, whatever the replicas', () => {
  let stack: Stack;

  afterEach(async () => {
    expect(await stack.invariant()).toEqual([]);
    await stack.stop();
  });

  it('3 workers, a 1-second schedule for 10 s: one task per tick, each tick once; kill -9 the replica that fired the last tick and the next ticks still fire once', async () => {
    stack = new Stack();
    await stack.startApi();
    const workers = await Promise.all([stack.startWorker(), stack.startWorker(), stack.startWorker()]);
    const schedule = await createSchedule(stack, {
      name: 'every-second',
      every_ms: 1000,
      task: echo({ job: 'tick' }),
      missed: 'catch_up',
      catch_up_limit: 100,
    });
    await waitForRuns(stack, schedule.schedule_id, 10);
    const first = (await tasksOf(stack, schedule.schedule_id))[0].scheduledAt;
    expect(firstTickAnswered(schedule.next_run_at, first)).toBe(true);
    const tenSeconds = (await tasksOf(stack, schedule.schedule_id)).filter((t) => t.scheduledAt < first + 10_000);
    // Ticks at first, first + 1 s, … first + 9 s: exactly 10 tasks, not 20 or 30.
    expect(tenSeconds.map((t) => t.scheduledAt - first)).toEqual(Array.from({ length: 10 }, (_, i) => i * 1000));
    const tasks = await tasksOf(stack, schedule.schedule_id);
    expect(ticksOnceEach(tasks, 1000)).toEqual(noProblems);

    const view = (await http('GET', `${stack.api.url}/schedules/${schedule.schedule_id}`)).body;
    expect(view).toMatchObject({ last_task_id: expect.any(String), last_task_status: expect.any(String) });
    const shown = (await stack.task(view.last_task_id)).body;
    expect(shown).toMatchObject({ schedule_id: schedule.schedule_id, scheduled_at: view.last_run_at });

    // The replica that fired the latest tick dies without a word.
    const victim = firedBy(workers, view.last_task_id);
    expect(victim).toBeDefined();
    expect(await victim!.stop('SIGKILL')).toBeNull();
    const killedAfter = view.runs as number;
    await waitForRuns(stack, schedule.schedule_id, killedAfter + 3);
    const after = await tasksOf(stack, schedule.schedule_id);
    expect(ticksOnceEach(after, 1000)).toEqual(noProblems);
    expect(after.length).toBeGreaterThanOrEqual(killedAfter + 3);
    // The survivors fired the ticks after the kill.
    const later = after.filter((t) => t.scheduledAt > Date.parse(view.last_run_at));
    expect(later.every((t) => firedBy(workers, t.id) !== victim)).toBe(true);
    // Every task the schedule made runs (echo): they all end succeeded.
    for (const task of after.slice(0, 3)) await stack.waitForStatus(task.id, ['succeeded']);
  });

  it('fires nothing for a disabled schedule, and a PATCH takes effect at the next tick', async () => {
    stack = new Stack();
    await stack.startApi();
    await stack.startWorker();
    await stack.startWorker();
    const off = await createSchedule(stack, { name: 'off', every_ms: 1000, task: echo('off'), enabled: false });
    const on = await createSchedule(stack, {
      name: 'on',
      every_ms: 1000,
      task: echo({ v: 1 }),
      missed: 'catch_up',
      catch_up_limit: 100,
    });
    await waitForRuns(stack, on.schedule_id, 3);
    const patched = await http('PATCH', `${stack.api.url}/schedules/on`, { task: echo({ v: 2 }) });
    expect(patched.status).toBe(200);
    // The tick the schedule waited for when the PATCH landed is the first with the new template.
    const boundary = Date.parse(patched.body.next_run_at);
    await waitForRuns(stack, on.schedule_id, patched.body.runs + 3);
    const tasks = await tasksOf(stack, on.schedule_id);
    expect(ticksOnceEach(tasks, 1000)).toEqual(noProblems);
    expect(tasks.filter((t) => t.scheduledAt < boundary).every((t) => JSON.stringify(t.payload) === '{"v":1}')).toBe(
      true,
    );
    expect(tasks.filter((t) => t.scheduledAt >= boundary).map((t) => t.payload)).toEqual(
      tasks.filter((t) => t.scheduledAt >= boundary).map(() => ({ v: 2 })),
    );
    expect(tasks.filter((t) => t.scheduledAt >= boundary).length).toBeGreaterThanOrEqual(3);

    // A new interval takes effect at its first tick too: every 2 s from there on.
    const slower = await http('PATCH', `${stack.api.url}/schedules/${on.schedule_id}`, { every_ms: 2000 });
    expect(slower.body.next_runs.map((t: string) => Date.parse(t) % 2000)).toEqual([0, 0, 0, 0, 0]);
    const switchedAt = Date.parse(slower.body.next_run_at);
    await waitForRuns(stack, on.schedule_id, slower.body.runs + 2);
    const afterSwitch = (await tasksOf(stack, on.schedule_id)).filter((t) => t.scheduledAt >= switchedAt);
    expect(ticksOnceEach(afterSwitch, 2000)).toEqual(noProblems);
    expect(afterSwitch[0].scheduledAt).toBe(switchedAt);

    // The disabled one: nothing, all along.
    expect(await tasksOf(stack, off.schedule_id)).toEqual([]);
    expect((await http('GET', `${stack.api.url}/schedules/off`)).body).toMatchObject({
      runs: 0,
      next_runs: [],
      last_task_id: null,
    });
  });
});

describe('schedules across a Redis restart (its own redis-server, AOF fsync always)', () => {
  let redis: OwnRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await OwnRedis.create(['--appendonly', 'yes', '--appendfsync', 'always']);
    await redis.start();
  });
  afterAll(async () => {
    await stack?.stop();
    await redis.destroy();
  });

  it('kills and restarts Redis mid-run: no tick twice, none lost, the schedule still there', async () => {
    stack = new Stack({}, redis.url);
    await stack.startApi();
    await stack.startWorker();
    await stack.startWorker();
    const schedule = await createSchedule(stack, {
      name: 'through-restart',
      every_ms: 1000,
      task: echo('restart'),
      missed: 'catch_up',
      catch_up_limit: 100,
    });
    await waitForRuns(stack, schedule.schedule_id, 3);
    await redis.kill('SIGKILL');
    // Down across at least two ticks.
    const downAt = Date.now();
    await waitFor(() => Date.now() >= downAt + 2500, { timeoutMs: 5000, what: 'two ticks to pass with Redis down' });
    await redis.start();
    const back = await waitFor(
      async () => {
        const res = await http('GET', `${stack.api.url}/schedules/through-restart`);
        return res.status === 200 ? res.body : undefined;
      },
      { timeoutMs: 30_000, what: 'the schedule to be readable after the restart' },
    );
    expect(back.schedule_id).toBe(schedule.schedule_id);
    await waitForRuns(stack, schedule.schedule_id, back.runs + 4);
    const tasks = await tasksOf(stack, schedule.schedule_id);
    // catch_up: the ticks of the downtime were enqueued once the scheduler got through again.
    expect(ticksOnceEach(tasks, 1000)).toEqual(noProblems);
    expect(firstTickAnswered(schedule.next_run_at, tasks[0].scheduledAt)).toBe(true);
    // Some ticks were enqueued only after Redis was back: the downtime really spanned ticks.
    const late = await Promise.all(
      tasks.map(
        async (t) => Date.parse((await http('GET', `${stack.api.url}/tasks/${t.id}`)).body.created_at) - t.scheduledAt,
      ),
    );
    expect(late.filter((lag) => lag >= 1000).length).toBeGreaterThanOrEqual(2);
    expect(await stack.invariant()).toEqual([]);
  });
});
