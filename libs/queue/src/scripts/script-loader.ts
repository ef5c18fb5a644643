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

type Arg = string | number;
type Reply<T> = Promise<T>;

/** The scripts as typed ioredis commands (keys first, then ARGV; see each script's header). */
export interface QueueScripts {
  taskqEnqueueTasks(...args: Arg[]): Reply<(string | number)[]>;
  taskqClaimTasks(...args: Arg[]): Reply<(string | number | null)[]>;
  taskqAckTasks(...args: Arg[]): Reply<number[]>;
  taskqFailTask(...args: Arg[]): Reply<number>;
  taskqReleaseTask(...args: Arg[]): Reply<number>;
  taskqExtendLeases(...args: Arg[]): Reply<string[]>;
  taskqRecoverExpired(...args: Arg[]): Reply<string[]>;
  taskqRetryTask(...args: Arg[]): Reply<[number, string?, string?]>;
  taskqRestoreTask(...args: Arg[]): Reply<[number, string?]>;
  taskqPurgeTasks(...args: Arg[]): Reply<number>;
  taskqDeleteDead(...args: Arg[]): Reply<[number, string?, string?]>;
  taskqPurgeDead(...args: Arg[]): Reply<number>;
  taskqQueueStats(...args: Arg[]): Reply<number[]>;
  taskqRegisterQueues(...args: Arg[]): Reply<[number, number?]>;
  taskqForgetQueue(...args: Arg[]): Reply<(number | string)[]>;
  taskqSetQueueControls(...args: Arg[]): Reply<[number]>;
  taskqCancelTask(...args: Arg[]): Reply<[number, string?]>;
  taskqWatchTask(...args: Arg[]): Reply<[number, string?]>;
  taskqClaimArchive(...args: Arg[]): Reply<(number | string | string[])[]>;
  taskqSettleArchive(...args: Arg[]): Reply<[number, number, number]>;
  taskqSaveSchedule(...args: Arg[]): Reply<[number, number?]>;
  taskqActivateSchedule(...args: Arg[]): Reply<[number, number?]>;
  taskqIndexSchedule(...args: Arg[]): Reply<number>;
  taskqDeleteSchedule(...args: Arg[]): Reply<[number, string?]>;
  taskqFireSchedule(...args: Arg[]): Reply<[number, number?]>;
  taskqClaimScheduleName(...args: Arg[]): Reply<[number, string?]>;
  taskqReleaseScheduleName(...args: Arg[]): Reply<number>;
}

export type QueueRedis = RedisClient & QueueScripts;
