import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineScript, defineScripts, loadScripts, RedisClient, ScriptArg, scriptReply } from '@app/queue';

/**
 * Finds libs/auth's Lua scripts: beside this file in the source tree (tests), or in
 * `auth/scripts/lua/` next to the api's webpack bundle (nest-cli copies them there as assets).
 */
function authScriptsDir(): string {
  const candidates = [join(__dirname, 'lua'), join(__dirname, 'auth', 'scripts', 'lua')];
  const found = candidates.find((dir) => existsSync(join(dir, 'createApiKey-3.lua')));
  if (!found) throw new Error(`auth Lua scripts not found; looked in ${candidates.join(', ')}`);
  return found;
}

type Call = (...args: ScriptArg[]) => Promise<unknown>;

/** The auth scripts as raw ioredis commands (positional; callers use the typed wrappers below). */
export interface AuthScripts {
  taskqAuthCreateApiKey: Call;
  taskqAuthRevokeApiKey: Call;
  taskqAuthSetApiKeyLimits: Call;
  taskqAuthLeaseAllowance: Call;
}

export type AuthRedis = RedisClient & AuthScripts;

/** A key's own limits, 7 arguments (ownLimitsArgs in lua/_prelude.lua), as limitArgs builds them. */
type OwnLimitArgs = ScriptArg[];

/** lua/createApiKey-3.lua: 1 and created_at (created); 0 and created_at (ensure found it); KeyIdTaken; KeyRevoked. */
export const createApiKey = defineScript({
  command: 'taskqAuthCreateApiKey',
  keys: ['record', 'index', 'revoked'],
  argv: (a: {
    id: string;
    secretHash: string;
    name: string;
    /** Comma-separated. */
    scopes: string;
    /** Comma-separated; '*' = every queue. */
    queues: string;
    mode: 'create' | 'ensure';
    limits: OwnLimitArgs;
  }) => [a.id, a.secretHash, a.name, a.scopes, a.queues, a.mode, ...a.limits],
  decode: scriptReply.numbers,
});

/** lua/revokeApiKey-3.lua: 1 revoked, 0 no such live key. */
export const revokeApiKey = defineScript({
  command: 'taskqAuthRevokeApiKey',
  keys: ['record', 'index', 'revoked'],
  argv: (a: { id: string }) => [a.id],
  decode: scriptReply.number,
});

/** lua/setApiKeyLimits-1.lua: the record after the change; undefined when no live key has this id. */
export const setApiKeyLimits = defineScript({
  command: 'taskqAuthSetApiKeyLimits',
  keys: ['record'],
  argv: (a: { limits: OwnLimitArgs }) => a.limits,
  decode: (raw) => {
    const flat = scriptReply.strings(raw);
    if (!flat.length) return undefined;
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
    return fields;
  },
});

/**
 * lua/leaseAllowance-1.lua: leased (ms left in the window, granted of each count), or refused by count
 * `index` (its use in the window, ms until the window ends).
 */
export const leaseAllowance = defineScript({
  command: 'taskqAuthLeaseAllowance',
  keys: ['counter'],
  argv: (a: { windowMs: number; counts: { field: string; need: number; want: number; limit: number }[] }) => [
    a.windowMs,
    ...a.counts.flatMap((c) => [c.field, c.need, c.want, c.limit]),
  ],
  decode: (raw) => {
    const [code, second, third, ...rest] = scriptReply.numbers(raw);
    return code < 0
      ? { leased: false as const, index: -code - 1, used: second, msLeft: third }
      : { leased: true as const, msLeft: second, granted: [third, ...rest] };
  },
});

let scripts: ReturnType<typeof loadScripts> | undefined;

/**
 * Defines the auth scripts on a client (the api's queue connection carries them too). The files are
 * read once per process; defineScripts skips a command the client already has.
 */
export function withAuthScripts(client: RedisClient): AuthRedis {
  scripts ??= loadScripts(authScriptsDir(), 'taskqAuth');
  defineScripts(client, scripts);
  return client as AuthRedis;
}
