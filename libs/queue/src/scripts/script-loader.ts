import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from '../redis/redis-client';

/**
 * Finds the Lua scripts: beside this file in the source tree (tests, ts-node), or in `lua/`
 * next to the webpack bundle (nest-cli copies them there as assets).
 */
function scriptsDir(): string {
  const candidates = [join(__dirname, 'lua'), join(__dirname, 'scripts', 'lua')];
  const found = candidates.find((dir) => existsSync(join(dir, '_prelude.lua')));
  if (!found) throw new Error(`Lua scripts not found; looked in ${candidates.join(', ')}`);
  return found;
}

export interface ScriptDefinition {
  /** ioredis command name, e.g. "taskqClaimTasks". */
  command: string;
  numberOfKeys: number;
  lua: string;
}

/**
 * Reads every `verbNoun-<numKeys>.lua` of `dir` (the queue's scripts by default), each with the
 * queue's prelude (argument checks, server time) prepended, as commands `<commandPrefix>VerbNoun`.
 * Other libraries keep their scripts in their own directory and prefix (libs/auth: `taskqAuth`),
 * with helpers of their own in that directory's `_prelude.lua`, prepended after the queue's.
 */
export function loadScripts(dir = scriptsDir(), commandPrefix = 'taskq'): ScriptDefinition[] {
  const queuePrelude = join(scriptsDir(), '_prelude.lua');
  const ownPrelude = join(dir, '_prelude.lua');
  const preludes = ownPrelude !== queuePrelude && existsSync(ownPrelude) ? [queuePrelude, ownPrelude] : [queuePrelude];
  const prelude = preludes.map((file) => readFileSync(file, 'utf8')).join('\n');
  const files = new Map<string, string>();
  return readdirSync(dir)
    .filter((file) => /^[a-z][A-Za-z]*-\d+\.lua$/.test(file))
    .map((file) => {
      const [, name, keys] = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file)!;
      const command = `${commandPrefix}${name[0].toUpperCase()}${name.slice(1)}`;
      // A script's key count is in its file name: after a change, a stale copy left by an older build
      // would otherwise be loaded in its place, with the wrong keys.
      const other = files.get(command);
      if (other) {
        throw new Error(
          `${other} and ${file} in ${dir} both define ${command}: a stale copy? Delete it and build again`,
        );
      }
      files.set(command, file);
      return { command, numberOfKeys: Number(keys), lua: `${prelude}\n${readFileSync(join(dir, file), 'utf8')}` };
    });
}

/**
 * Registers the scripts on a client. ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT,
 * so a restarted Redis (empty script cache) needs nothing from us.
 */
export function defineScripts(client: RedisClient, scripts: ScriptDefinition[] = loadScripts()): QueueRedis {
  for (const script of scripts) {
    // Once per client: the api's one connection carries the queue's and other libraries' scripts.
    if (!(script.command in client)) {
      client.defineCommand(script.command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
  }
  return client as QueueRedis;
}

type Call = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The scripts as the raw ioredis commands defineScripts registers (KEYS, then ARGV, positional). Callers
 * use the typed wrappers (worker-scripts, task-scripts, queue-scripts, schedules/schedule-scripts),
 * which name every key and argument and decode the reply; the guard test calls these directly.
 */
export interface QueueScripts {
  taskqEnqueueTasks: Call;
  taskqClaimTasks: Call;
  taskqAckTasks: Call;
  taskqFailTask: Call;
  taskqReleaseTask: Call;
  taskqExtendLeases: Call;
  taskqRecoverExpired: Call;
  taskqRetryTask: Call;
  taskqRestoreTask: Call;
  taskqPurgeTasks: Call;
  taskqDeleteDead: Call;
  taskqPurgeDead: Call;
  taskqQueueStats: Call;
  taskqReadyRange: Call;
  taskqMoveToReady: Call;
  taskqCompactTask: Call;
  taskqRegisterQueues: Call;
  taskqForgetQueue: Call;
  taskqSetQueueControls: Call;
  taskqCancelTask: Call;
  taskqWatchTask: Call;
  taskqClaimArchive: Call;
  taskqSettleArchive: Call;
  taskqSaveSchedule: Call;
  taskqActivateSchedule: Call;
  taskqIndexSchedule: Call;
  taskqDeleteSchedule: Call;
  taskqFireSchedule: Call;
  taskqClaimScheduleName: Call;
  taskqReleaseScheduleName: Call;
}

export type QueueRedis = RedisClient & QueueScripts;
