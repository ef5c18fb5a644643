import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isCounterKey } from '@app/auth';
import { diffSnapshots, redisAppEnv, snapshotKeys } from '@app/testing';
import { Stack } from './harness';

const ROOT = join(__dirname, '..', '..');

/** A request's options that send `credential` as `Authorization: Bearer`. */
export const bearer = (credential: string) => ({ headers: { authorization: `Bearer ${credential}` } });

/** `keys <args>` of the built api (what `npm run keys` runs) against a stack's Redis and prefix. */
export function keysCli(stack: Stack, args: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, 'dist', 'apps', 'api', 'main.js'), 'keys', ...args], {
    env: { PATH: process.env.PATH ?? '', ...redisAppEnv(stack.connection), QUEUE_PREFIX: stack.prefix },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

/** A new key from `keys create <args>`: what it printed on stdout. */
export function createKeyFromShell(stack: Stack, args: string[]): string {
  const result = keysCli(stack, ['create', ...args]);
  if (result.status !== 0) throw new Error(`keys create failed: ${result.stderr}`);
  return result.stdout;
}

/** Keys written under the prefix while `run` ran, other than rate-limit and quota counters. */
export async function writesOf(stack: Stack, run: () => Promise<unknown>): Promise<string[]> {
  const before = await snapshotKeys(stack.redis, stack.prefix);
  await run();
  const after = await snapshotKeys(stack.redis, stack.prefix);
  return diffSnapshots(before, after).filter((change) => !isCounterKey(stack.prefix, change.slice(2)));
}
