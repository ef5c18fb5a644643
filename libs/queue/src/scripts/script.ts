import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/redis-client';

export type ScriptArg = string | number;

/** What a script call runs on: a client with the scripts defined (defineScripts), or one of its pipelines. */
type Runner = RedisClient | ChainableCommander;

/**
 * One Lua script as a typed call: its KEYS by name (in the order of the script's header), its ARGV built
 * from named arguments, and its reply decoded, all next to each other, so a caller writes
 * `claimTasks.run(redis, keys, { max, leaseMs, ... })` instead of a positional list and a fixed-stride parse.
 * `keys` is usually the queue's QueueKeys (every name a script reads is one of its fields).
 */
export interface Script<K extends string, A, R> {
  /** The ioredis command defineScripts registers (`taskq` + the file's verbNoun). */
  readonly command: string;
  /** KEYS[1..n] by name; n is also in the script's file name (a test holds the two equal). */
  readonly keys: readonly K[];
  /** Runs the script, resolving to the decoded reply. */
  run(redis: RedisClient, keys: Record<K, string>, args: A): Promise<R>;
  /** Adds the call to a pipeline; decode its raw reply with `decode` after exec. */
  queue(pipeline: ChainableCommander, keys: Record<K, string>, args: A): void;
  decode(reply: unknown, args: A): R;
}

export interface ScriptSpec<K extends string, A, R> {
  command: string;
  keys: readonly K[];
  /** ARGV[1..] in the header's order. */
  argv: (args: A) => ScriptArg[];
  /** The reply as the caller uses it; the call's arguments may complete it (fields the script does not send). */
  decode: (reply: unknown, args: A) => R;
}

export function defineScript<K extends string, A, R>(spec: ScriptSpec<K, A, R>): Script<K, A, R> {
  const positional = (keys: Record<K, string>, args: A): ScriptArg[] =>
    (spec.keys.map((name) => keys[name]) as ScriptArg[]).concat(spec.argv(args));
  const call = (runner: Runner, keys: Record<K, string>, args: A) =>
    (runner as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[spec.command](
      ...positional(keys, args),
    );
  return {
    command: spec.command,
    keys: spec.keys,
    async run(redis, keys, args) {
      return spec.decode(await call(redis, keys, args), args);
    },
    queue(pipeline, keys, args) {
      void call(pipeline, keys, args);
    },
    decode: spec.decode,
  };
}

/** Reply decoders shared by the scripts. */
export const scriptReply = {
  number: (value: unknown): number => Number(value),
  numbers: (value: unknown): number[] => (value as unknown[]).map(Number),
  strings: (value: unknown): string[] => (value as unknown[]).map(String),
  /** `{ code, detail... }`: the code as a number, the rest as strings (absent ones undefined). */
  coded: (value: unknown): { code: number; details: (string | undefined)[] } => {
    const [code, ...rest] = value as unknown[];
    return { code: Number(code), details: rest.map((v) => (v === null || v === undefined ? undefined : String(v))) };
  },
};
