import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineScripts, loadScripts, RedisClient } from '@app/queue';

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

type Arg = string | number;

/** The auth scripts as typed ioredis commands (keys first, then ARGV; see each script's header). */
export interface AuthScripts {
  taskqAuthCreateApiKey(...args: Arg[]): Promise<number[]>;
  taskqAuthRevokeApiKey(...args: Arg[]): Promise<number>;
  taskqAuthSetApiKeyLimits(...args: Arg[]): Promise<string[]>;
  taskqAuthLeaseAllowance(...args: Arg[]): Promise<number[]>;
}

export type AuthRedis = RedisClient & AuthScripts;

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
