import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authKeys } from '@app/auth';
import { createTestRedis, diffSnapshots, newTask, QueueHarness, snapshotKeys, TestRedis } from '@app/testing';
import { ClaimedTask, QueueKeys, queueKeys, queueRegistryKey, scheduleNamesKey } from '@app/queue';
import { defineScripts, loadScripts, QueueRedis, QueueScripts } from './script-loader';

/**
 * Every Lua script checks all of its arguments before its first write (Redis does not roll back a script that
 * fails halfway; docs/architecture.md). The scripts are found by listing the Lua directories, so a new script
 * without a guard case fails here: each case is a call with a malformed argument that must be refused with
 * TASKQ_BADARG and leave every key under the test's prefix as it was.
 */
const LUA_DIRS = [
  { dir: join(__dirname, 'lua'), commandPrefix: 'taskq' },
  { dir: join(__dirname, '..', '..', '..', 'auth', 'src', 'scripts', 'lua'), commandPrefix: 'taskqAuth' },
];

interface GuardContext {
  s: QueueRedis & AuthCommands;
  keys: QueueKeys;
  prefix: string;
  queue: string;
  /** An active task of the queue: a valid id and lease token, so only the argument under test is wrong. */
  run: ClaimedTask;
}
/** Bad-argument calls of one script, or the marker of a script that takes no argument at all. */
type Guard = ((c: GuardContext) => Promise<unknown>[]) | 'takes no arguments';

type Call = (...args: (string | number)[]) => Promise<unknown>;
interface AuthCommands {
  taskqAuthCreateApiKey: Call;
  taskqAuthRevokeApiKey: Call;
  taskqAuthLeaseAllowance: Call;
  taskqAuthSetApiKeyLimits: Call;
}

const claimKeys = (k: QueueKeys) => [
  k.queued,
  k.scheduled,
  k.retrying,
  k.active,
  k.seq,
  k.meta,
  k.rateLog,
  k.archive,
  k.ready,
];
const scheduleHash = (c: GuardContext) => `${c.keys.schedulePrefix}${c.queue}~guard`;
/** A schedule definition (ARGV 7..19 of saveSchedule) with field `i` replaced. */
const definition = (c: GuardContext, i = -1, value: string | number = '') =>
  ['n', c.queue, '', 1000, '', 'echo', '1', 0, 0, 1, '1', 'skip', 5].map((v, j) => (j === i ? value : v));
/** One enqueue group of 11 (id, type, payload, priority, max_retries, timeout_ms, delay, idempotency…). */
const enqueueGroup = (c: GuardContext, over: Record<number, string> = {}) =>
  [`${c.queue}.guard`, 'echo', '1', '0', '3', '1000', '0', '', '', '', '0'].map((v, j) => over[j] ?? v);

/** Typed: a script command without its case does not compile; listed below: a script file without one fails. */
const QUEUE_GUARDS: Record<keyof QueueScripts, Guard> = {
  taskqEnqueueTasks: (c) => {
    const { keys: k } = c;
    const enqueue = (...argv: (string | number)[]) =>
      c.s.taskqEnqueueTasks(
        ...[k.queued, k.scheduled, k.seq, k.wake, k.ready],
        ...[k.taskPrefix, k.idemPrefix, k.uniquePrefix, ...argv],
      );
    return [
      enqueue(60, 1, ...enqueueGroup(c, { 3: 'NaN' })),
      enqueue(60, 1, ...enqueueGroup(c, { 5: 'inf' })),
      enqueue(60, 2, ...enqueueGroup(c)),
      enqueue(0, 1, ...enqueueGroup(c)),
    ];
  },
  taskqClaimTasks: (c) => [
    c.s.taskqClaimTasks(...claimKeys(c.keys), c.keys.taskPrefix, 'NaN', 1000, 't', 10, 0),
    c.s.taskqClaimTasks(...claimKeys(c.keys), c.keys.taskPrefix, 1, 'inf', 't', 10, 0),
    c.s.taskqClaimTasks(...claimKeys(c.keys), c.keys.taskPrefix, 1, 1000, 't', 10, '-1'),
  ],
  taskqAckTasks: (c) => {
    const { keys: k, run } = c;
    const ack = (...argv: (string | number)[]) =>
      c.s.taskqAckTasks(k.active, k.succeeded, k.archive, k.throughput, k.meta, k.wake, k.taskPrefix, ...argv);
    return [
      ack('nan', 'expire', run.id, run.leaseToken, '1'),
      ack(10, 'expire', run.id, run.leaseToken),
      ack(10, 'keep', run.id, run.leaseToken, ''),
    ];
  },
  taskqFailTask: (c) => {
    const { keys: k, run } = c;
    const fail = (action: string, arg: string, dlqMax = '0', mode = 'expire') =>
      c.s.taskqFailTask(
        ...[k.active, k.retrying, k.dead, k.deadTrimmed, k.wake, k.archive, k.throughput, k.meta],
        ...[k.taskPrefix, run.id, run.leaseToken, 'boom', action, arg, dlqMax, mode, ''],
      );
    return [fail('retry', 'NaN'), fail('retry', '-1'), fail('dead', 'not_a_reason'), fail('later', '0')];
  },
  taskqReleaseTask: (c) => [
    c.s.taskqReleaseTask(c.keys.active, c.keys.queued, c.keys.wake, c.keys.taskPrefix, c.run.id, ''),
  ],
  taskqExtendLeases: (c) => [
    c.s.taskqExtendLeases(c.keys.active, c.keys.taskPrefix, 'Infinity', c.run.id, c.run.leaseToken),
  ],
  taskqRecoverExpired: (c) => {
    const { keys: k } = c;
    const recover = (...argv: (string | number)[]) =>
      c.s.taskqRecoverExpired(
        ...[k.active, k.queued, k.dead, k.recoverLock, k.deadTrimmed, k.succeeded, k.archive, k.throughput, k.wake],
        k.cancelled,
        k.taskPrefix,
        ...argv,
      );
    return [recover(0, 1, 0, 'me', 0, 'expire'), recover(10, 1, 'NaN', 'me', 0, 'expire')];
  },
  taskqRetryTask: (c) => {
    const { keys: k } = c;
    const retry = (mode: string, only: string) =>
      c.s.taskqRetryTask(
        ...[k.dead, k.succeeded, k.cancelled, k.queued, k.seq, k.wake, k.archive, k.ready, k.meta],
        ...[k.taskPrefix, c.run.id, mode, only],
      );
    return [retry('keep', 'finished'), retry('', 'dead'), retry('expire', 'any')];
  },
  taskqRestoreTask: (c) => {
    const { keys: k } = c;
    // A task id no hash has (it would be written), with one argument broken at a time.
    const good = [`${c.queue}.guard`, 2, 'echo', '1', 0, 3, 1000, 1, '[]', '', '', '', `${k.uniquePrefix}x`, 1000, ''];
    const restore = (at: number, value: string | number) =>
      c.s.taskqRestoreTask(
        ...[k.queued, k.seq, k.wake, k.archive, k.ready, k.taskPrefix],
        ...good.map((arg, i) => (i === at ? value : arg)),
      );
    return [
      restore(1, 0),
      restore(2, ''),
      restore(4, 101),
      restore(5, 'NaN'),
      restore(6, -1),
      restore(7, 'inf'),
      restore(8, '{"not":"a list"'),
      restore(11, 'soon'),
      restore(13, 0),
    ];
  },
  taskqPurgeTasks: (c) => {
    const { keys: k } = c;
    const purge = (limit: string | number, withReady: string | number = 1) =>
      c.s.taskqPurgeTasks(k.queued, k.archive, k.meta, k.ready, k.taskPrefix, limit, withReady);
    return [purge('NaN'), purge(0), purge(1001), purge(10, 2), purge(10, '')];
  },
  taskqDeleteDead: (c) => [c.s.taskqDeleteDead(c.keys.dead, c.keys.archive, c.keys.taskPrefix, '')],
  taskqPurgeDead: (c) => [c.s.taskqPurgeDead(c.keys.dead, c.keys.archive, c.keys.taskPrefix, 'nan')],
  taskqQueueStats: (c) => {
    const { keys: k } = c;
    return [
      c.s.taskqQueueStats(
        ...[k.scheduled, k.queued, k.active, k.retrying, k.succeeded, k.dead, k.cancelled, k.meta, k.ready],
        '',
      ),
    ];
  },
  taskqMoveToReady: (c) => [
    c.s.taskqMoveToReady(c.keys.queued, c.keys.ready, c.keys.meta, c.keys.taskPrefix, 0),
    c.s.taskqMoveToReady(c.keys.queued, c.keys.ready, c.keys.meta, '', 10),
  ],
  taskqCompactTask: (c) => [c.s.taskqCompactTask(`${c.keys.taskPrefix}${c.run.id}`, '')],
  taskqReadyRange: (c) => [
    c.s.taskqReadyRange(c.keys.ready, c.keys.meta, 'NaN', 10),
    c.s.taskqReadyRange(c.keys.ready, c.keys.meta, -2, 10),
    c.s.taskqReadyRange(c.keys.ready, c.keys.meta, -1, 0),
  ],
  taskqRegisterQueues: (c) => [
    c.s.taskqRegisterQueues(queueRegistryKey(c.prefix), 'NaN', 'other'),
    c.s.taskqRegisterQueues(queueRegistryKey(c.prefix), 0),
  ],
  taskqForgetQueue: (c) => {
    const k = c.keys;
    const keys = [k.scheduled, k.queued, k.active, k.retrying, k.succeeded, k.dead, k.cancelled, k.deadTrimmed, k.seq];
    const more = [k.wake, k.recoverLock, k.meta, k.rateLog, k.archive, k.throughput, k.schedules, k.scheduleIndex];
    const forget = (...argv: (string | number)[]) => c.s.taskqForgetQueue(...keys, ...more, k.ready, ...argv);
    return [forget('NaN', k.taskPrefix), forget(101, k.taskPrefix), forget(10, '')];
  },
  taskqSetQueueControls: (c) => {
    const k = c.keys;
    const controls = (...argv: (string | number)[]) =>
      c.s.taskqSetQueueControls(k.seq, k.meta, k.rateLog, k.wake, ...argv);
    return [
      controls('drain'),
      controls('limits', 'x', 1000, ''),
      controls('limits', 10, 0, ''),
      controls('limits', '', '', 'NaN'),
    ];
  },
  taskqCancelTask: (c) => {
    const { keys: k } = c;
    const cancel = (...argv: (string | number)[]) =>
      c.s.taskqCancelTask(
        ...[k.scheduled, k.queued, k.retrying, k.active, k.cancelled, k.archive, k.throughput, k.meta],
        ...argv,
      );
    return [
      cancel(k.taskPrefix, c.run.id, 'nan', 'channel', 'expire'),
      cancel(k.taskPrefix, c.run.id, 10, '', 'expire'),
      cancel(k.taskPrefix, c.run.id, 10, 'channel', 'keep'),
    ];
  },
  taskqWatchTask: (c) => [c.s.taskqWatchTask(`${c.keys.taskPrefix}${c.run.id}`, '')],
  taskqClaimArchive: (c) => [
    c.s.taskqClaimArchive(c.keys.archive, c.keys.taskPrefix, 0, 1000, 1000),
    c.s.taskqClaimArchive(c.keys.archive, c.keys.taskPrefix, 10, 'NaN', 1000),
  ],
  taskqSettleArchive: (c) => {
    const { keys: k } = c;
    return [
      c.s.taskqSettleArchive(k.archive, k.dead, k.taskPrefix, 'maybe', c.run.id, 1),
      c.s.taskqSettleArchive(k.archive, k.dead, k.taskPrefix, 'written', c.run.id, 'x'),
      c.s.taskqSettleArchive(k.archive, k.dead, k.taskPrefix, 'written', c.run.id),
    ];
  },
  taskqSaveSchedule: (c) => {
    const save = (...argv: (string | number)[]) => c.s.taskqSaveSchedule(scheduleHash(c), c.keys.schedules, ...argv);
    const id = `${c.queue}~guard`;
    return [
      save(id, 'replace', 1, -1, 1000, 'ch', ...definition(c)),
      save(id, 'update', 1, -1, 1000, 'ch', ...definition(c, 7, 101)),
      save(id, 'update', 1, -1, 1000, 'ch', ...definition(c).slice(1)),
    ];
  },
  taskqActivateSchedule: (c) => {
    const k = c.keys;
    const activate = (...argv: (string | number)[]) =>
      c.s.taskqActivateSchedule(scheduleHash(c), k.schedules, k.seq, k.scheduleIndex, ...argv);
    return [activate(`${c.queue}~guard`, '', 0), activate(`${c.queue}~guard`, 'channel', 'NaN')];
  },
  taskqIndexSchedule: (c) => [
    c.s.taskqIndexSchedule(scheduleHash(c), c.keys.scheduleIndex, `${c.queue}~guard`, ''),
    c.s.taskqIndexSchedule(scheduleHash(c), c.keys.scheduleIndex, '', 'n'),
  ],
  taskqDeleteSchedule: (c) => [c.s.taskqDeleteSchedule(scheduleHash(c), c.keys.schedules, c.keys.scheduleIndex, '')],
  taskqFireSchedule: (c) => {
    const { keys: k } = c;
    const fire = (...argv: (string | number)[]) =>
      c.s.taskqFireSchedule(
        scheduleHash(c),
        k.schedules,
        k.queued,
        k.seq,
        k.wake,
        k.ready,
        k.taskPrefix,
        `${c.queue}~guard`,
        ...argv,
      );
    const t = 1_700_000_000_000;
    return [fire('nan', t, t + 1000, 0), fire(1, t, t + 1000, 1001), fire(1, t, t + 1000, 1, t, '')];
  },
  taskqClaimScheduleName: (c) => [c.s.taskqClaimScheduleName(scheduleNamesKey(c.prefix), '', 'x', '')],
  taskqReleaseScheduleName: (c) => [c.s.taskqReleaseScheduleName(scheduleNamesKey(c.prefix), 'n', '')],
};

const AUTH_GUARDS: Record<keyof AuthCommands, Guard> = {
  taskqAuthCreateApiKey: (c) => {
    const a = authKeys(c.prefix);
    return [
      c.s.taskqAuthCreateApiKey(
        a.apiKey('k1'),
        a.apiKeyIndex,
        a.revokedApiKeys,
        'k1',
        'ab',
        'n',
        'read',
        '*',
        'upsert',
      ),
      c.s.taskqAuthCreateApiKey(a.apiKey('k1'), a.apiKeyIndex, a.revokedApiKeys, 'k1', 'ab', 'n', '', '*', 'create'),
      // Its own limits (ownLimitsArgs): a rate of max 0, a quota counting nothing, 'keep' on a new key.
      c.s.taskqAuthCreateApiKey(
        ...[a.apiKey('k1'), a.apiKeyIndex, a.revokedApiKeys, 'k1', 'ab', 'n', 'read', '*', 'create'],
        ...['set', 0, 1000, 'clear', 0, 0, 0],
      ),
      c.s.taskqAuthCreateApiKey(
        ...[a.apiKey('k1'), a.apiKeyIndex, a.revokedApiKeys, 'k1', 'ab', 'n', 'read', '*', 'create'],
        ...['clear', 0, 0, 'set', 0, 0, 60],
      ),
      c.s.taskqAuthCreateApiKey(
        ...[a.apiKey('k1'), a.apiKeyIndex, a.revokedApiKeys, 'k1', 'ab', 'n', 'read', '*', 'create'],
        ...['keep', 0, 0, 'clear', 0, 0, 0],
      ),
    ];
  },
  taskqAuthRevokeApiKey: (c) => {
    const a = authKeys(c.prefix);
    return [c.s.taskqAuthRevokeApiKey(a.apiKey('k1'), a.apiKeyIndex, a.revokedApiKeys, '')];
  },
  taskqAuthLeaseAllowance: (c) => {
    const counter = authKeys(c.prefix).quota('svc', 60);
    const lease = (...argv: (string | number)[]) => c.s.taskqAuthLeaseAllowance(counter, ...argv);
    return [
      lease(0, 'tasks', 1, 1, 10),
      lease(1000, 'tasks', 1, 5, 'NaN'),
      lease(1000, 'tasks', 2, 1, 10),
      lease(1000, 'tasks', 1, 1, 10, 'bytes', 1, 1),
      lease(1000, 'tasks', 1, 1, 10, 'bytes', -1, 1, 10),
      lease(1000, 'tasks', 1, 1, 10, 'bytes', 1, 1, 10, 'requests', 1, 1, 10),
      lease(1000, 'nope', 1, 1, 10),
      lease(1000, 'tasks', 1, 1, 0),
    ];
  },
  taskqAuthSetApiKeyLimits: (c) => {
    const key = authKeys(c.prefix).apiKey('k1');
    return [
      c.s.taskqAuthSetApiKeyLimits(key, 'set', 0, 1000, 'keep', 0, 0, 0),
      c.s.taskqAuthSetApiKeyLimits(key, 'keep', 0, 0, 'set', 5, 0, 0),
      c.s.taskqAuthSetApiKeyLimits(key, 'replace', 5, 1000, 'keep', 0, 0, 0),
      c.s.taskqAuthSetApiKeyLimits(key, 'set', 5, 'NaN', 'keep', 0, 0, 0),
    ];
  },
};

const GUARDS: Record<string, Guard> = { ...QUEUE_GUARDS, ...AUTH_GUARDS };

/**
 * Every script file of the Lua directories (files starting with `_` are prepended, not commands), with the
 * command the loader defines for it.
 */
const scripts = LUA_DIRS.flatMap(({ dir, commandPrefix }) => {
  const loaded = loadScripts(dir, commandPrefix);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.lua') && !file.startsWith('_'))
    .map((file) => {
      const name = /^([a-z][A-Za-z]*)-\d+\.lua$/.exec(file)?.[1] ?? file;
      return {
        file,
        command: `${commandPrefix}${name[0].toUpperCase()}${name.slice(1)}`,
        text: readFileSync(join(dir, file), 'utf8'),
        loaded,
      };
    });
});

describe('Lua script guards', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  const queue = 'q1';

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    h = await QueueHarness.boot();
  });
  afterEach(async () => {
    await h.close(redis);
  });

  it('finds the scripts of both Lua directories, each loaded as a command, and no guard case without its script', () => {
    expect(scripts.length).toBeGreaterThan(20);
    expect(scripts.filter((s) => !s.loaded.some((l) => l.command === s.command)).map((s) => s.file)).toEqual([]);
    expect(Object.keys(GUARDS).filter((command) => !scripts.some((s) => s.command === command))).toEqual([]);
  });

  it.each(scripts.map((s) => [s.file, s] as const))(
    '%s refuses a malformed argument before its first write',
    async (file, script) => {
      const { command } = script;
      const guard = GUARDS[command];
      if (guard === undefined) {
        throw new Error(`${file} (${command}) has no guard case: add one to GUARDS in ${__filename}`);
      }
      if (guard === 'takes no arguments') {
        const code = script.text.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
        expect([command, /\bARGV\b/.test(code)]).toEqual([command, false]);
        return;
      }
      const client = defineScripts(h.scripts, script.loaded);
      const { id } = await h.producer.enqueue(newTask(queue));
      const [run] = (await h.consumer.claim(queue, 1)).tasks;
      expect(run.id).toBe(id);
      const context: GuardContext = {
        s: client as QueueRedis & AuthCommands,
        keys: queueKeys(h.prefix, queue),
        prefix: h.prefix,
        queue,
        run,
      };
      const before = await snapshotKeys(redis, h.prefix);
      const calls = guard(context);
      expect(calls.length).toBeGreaterThan(0);
      // Every call's outcome is taken at once: the calls are already sent, and a refusal that arrives while
      // an earlier one is awaited must not go unhandled.
      const outcomes = await Promise.all(
        calls.map((call, i) =>
          call.then(
            () => `call ${i} of ${command} was accepted`,
            (error: unknown) => `call ${i}: ${(error as Error).message}`,
          ),
        ),
      );
      expect(outcomes.filter((outcome) => !/^call \d+: TASKQ_BADARG/.test(outcome))).toEqual([]);
      expect(diffSnapshots(before, await snapshotKeys(redis, h.prefix))).toEqual([]);
    },
  );
});
