import type { ConfigService } from '@nestjs/config';
import {
  API_KEY_ID_PATTERN,
  API_KEY_NAME_PATTERN,
  ApiKeyLimitsChange,
  ApiKeyRecord,
  ApiKeyStore,
  isScope,
  SCOPES,
  LimitShapeError,
  quotaFromWire,
  quotaToWire,
  rateLimitFromWire,
  rateLimitToWire,
  Scope,
} from '@app/auth';
import { formatQuota, formatRate, LimitNotationError, parseQuota, parseRate } from '@app/client';
import { queueOptionsFrom } from '@app/config';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { createRedisClient, RedisClient } from '@app/queue';
import { ApiEnv } from '../config/api.env';

const USAGE = `usage: npm run keys -- <command>   (or: node dist/apps/api/main.js keys <command>)

  create --name NAME --scopes submit,read[,admin] [--queues q1,q2] [LIMITS]
                 prints the new key on stdout (shown once; Redis keeps only its hash)
  set-limits ID LIMITS
                 changes a key's own limits; every api replica applies them within a second
  list           every live key: id, name, scopes, queues, rate limit, quota, created
  revoke ID      every api replica refuses the key within a second

LIMITS (a key without them has the defaults: RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS, QUOTA_*):
  --rate 500/1s                 at most 500 requests per fixed window of 1 s (ms, s, m, h, d)
  --quota-tasks 1000000/1h      at most 1,000,000 tasks per window of 1 h
  --quota-bytes 10GiB/1h        at most 10 GiB of payload per window (KiB, MiB, GiB, TiB); same window
  --rate default, --quota-tasks default
                                set-limits: remove the key's own, so the default applies

Uses the api's configuration (REDIS_URL, REDIS_PASSWORD, QUEUE_PREFIX, ... and their _FILE forms).`;

class UsageError extends Error {}

/** `keys <command>`: API keys from a shell, on the Redis the api uses. Returns the exit code. */
export async function runKeysCli(env: ApiEnv, args: string[]): Promise<number> {
  let redis: RedisClient | undefined;
  try {
    const [command, ...rest] = args;
    const options = parseFlags(rest);
    if (command === undefined || command === 'help' || options.help) {
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    if (!['create', 'set-limits', 'list', 'revoke'].includes(command)) {
      throw new UsageError(`unknown command ${command}`);
    }
    // The checks first: a bad flag is reported without touching Redis.
    const create = command === 'create' ? createArgs(options) : undefined;
    const setLimits = command === 'set-limits' ? setLimitsArgs(options) : undefined;
    const revokeId = command === 'revoke' ? revokeArg(options) : undefined;
    if (command === 'list' && (options.positional.length || Object.keys(options.flags).length)) {
      throw new UsageError('list takes no arguments');
    }

    const config = { get: (name: keyof ApiEnv) => env[name] } as unknown as ConfigService<ApiEnv, true>;
    const queueOptions = queueOptionsFrom(config, 'api');
    redis = createRedisClient(
      { ...queueOptions, connectionName: `${queueOptions.prefix}:keys-cli:${process.pid}` },
      'commands',
    );
    redis.on('error', () => undefined);
    await ready(redis, env.REDIS_COMMAND_TIMEOUT_MS + 3000);
    const store = new ApiKeyStore(redis, { prefix: env.QUEUE_PREFIX });

    if (create) {
      const { key, record } = await store.create(create);
      process.stderr.write(
        `created API key ${record.id} (${record.name}): scopes ${record.scopes.join(',')}; queues ${record.queues?.join(',') ?? 'all'}; ${limitsOf(record)}.\n` +
          'It is shown this once; Redis keeps only its hash. Send it as Authorization: Bearer <key> or X-API-Key: <key>.\n',
      );
      process.stdout.write(`${key}\n`);
    } else if (setLimits) {
      const record = await store.setLimits(setLimits.id, setLimits.change);
      if (!record) {
        process.stderr.write(`no live API key has id ${setLimits.id}\n`);
        return 1;
      }
      process.stderr.write(
        `API key ${record.id} (${record.name}): ${limitsOf(record)}; every api replica applies it within a second\n`,
      );
    } else if (revokeId) {
      if (!(await store.revoke(revokeId))) {
        process.stderr.write(`no live API key has id ${revokeId}\n`);
        return 1;
      }
      process.stderr.write(`revoked API key ${revokeId}; every api replica refuses it within a second\n`);
    } else {
      let cursor: string | undefined;
      process.stdout.write('id\tname\tscopes\tqueues\trate\tquota\tcreated\n');
      do {
        const page = await store.list(500, cursor);
        for (const k of page.keys) {
          const rate = formatRate(k.rateLimit && rateLimitToWire(k.rateLimit));
          const quota = formatQuota(k.quota && quotaToWire(k.quota));
          process.stdout.write(
            `${k.id}\t${k.name}\t${k.scopes.join(',')}\t${k.queues?.join(',') ?? '*'}\t${rate}\t${quota}\t${new Date(k.createdAt).toISOString()}\n`,
          );
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`keys: ${(error as Error).message}\n${error instanceof UsageError ? `\n${USAGE}\n` : ''}`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    redis?.disconnect();
  }
}

interface Flags {
  flags: Record<string, string>;
  positional: string[];
  help: boolean;
}

function parseFlags(args: string[]): Flags {
  const out: Flags = { flags: {}, positional: [], help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') out.help = true;
    else if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split('=', 2);
      const value = inline ?? args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      out.flags[name] = value;
    } else out.positional.push(arg);
  }
  return out;
}

const LIMIT_FLAGS = ['rate', 'quota-tasks', 'quota-bytes'];

function createArgs({ flags, positional }: Flags): {
  name: string;
  scopes: Scope[];
  queues: string[] | null;
} & ApiKeyLimitsChange {
  const unknown = Object.keys(flags).filter((flag) => !['name', 'scopes', 'queues', ...LIMIT_FLAGS].includes(flag));
  if (unknown.length || positional.length) {
    throw new UsageError(`create takes --name, --scopes, --queues, --rate, --quota-tasks and --quota-bytes only`);
  }
  if (!flags.name || !API_KEY_NAME_PATTERN.test(flags.name)) {
    throw new UsageError('--name must be 1-64 characters of [A-Za-z0-9 _.:@/-], starting with a letter or digit');
  }
  const scopes = (flags.scopes ?? '').split(',').filter(Boolean);
  if (!scopes.length || !scopes.every(isScope)) throw new UsageError(`--scopes must list some of ${SCOPES.join(', ')}`);
  const queues = flags.queues === undefined ? null : flags.queues.split(',').filter(Boolean);
  if (queues && (!queues.length || !queues.every((q) => QUEUE_NAME_PATTERN.test(q)))) {
    throw new UsageError('--queues must list queue names (1-64 characters of [a-z0-9_-]), comma-separated');
  }
  return {
    name: flags.name,
    scopes: [...new Set(scopes)] as Scope[],
    queues: queues && [...new Set(queues)],
    ...limitFlags(flags),
  };
}

function setLimitsArgs({ flags, positional }: Flags): { id: string; change: ApiKeyLimitsChange } {
  const unknown = Object.keys(flags).filter((flag) => !LIMIT_FLAGS.includes(flag));
  if (positional.length !== 1 || !API_KEY_ID_PATTERN.test(positional[0]) || unknown.length) {
    throw new UsageError('set-limits takes one key id and --rate, --quota-tasks and/or --quota-bytes');
  }
  const change = limitFlags(flags);
  if (change.rateLimit === undefined && change.quota === undefined) {
    throw new UsageError('set-limits needs --rate, --quota-tasks or --quota-bytes');
  }
  return { id: positional[0], change };
}

/**
 * The limit flags as a change of a key's limits, in the same ranges the api and JWT claims take
 * (libs/auth): a flag left out is undefined, `default` is null.
 */
function limitFlags(flags: Record<string, string>): ApiKeyLimitsChange {
  try {
    const rate = flags.rate === undefined ? undefined : parseRate(flags.rate);
    const quota = parseQuota(flags['quota-tasks'], flags['quota-bytes']);
    return {
      rateLimit: rate === undefined ? undefined : rateLimitFromWire(rate, 'rate_limit'),
      quota: quota === undefined ? undefined : quotaFromWire(quota, 'quota'),
    };
  } catch (error) {
    if (error instanceof LimitNotationError || error instanceof LimitShapeError) throw new UsageError(error.message);
    throw error;
  }
}

/** `rate 500/1s, quota 1000000 tasks/1h`, defaults named as such. */
function limitsOf(record: ApiKeyRecord): string {
  const rate = formatRate(record.rateLimit && rateLimitToWire(record.rateLimit));
  const quota = formatQuota(record.quota && quotaToWire(record.quota));
  return `rate ${rate}, quota ${quota}`;
}

function revokeArg({ flags, positional }: Flags): string {
  if (positional.length !== 1 || Object.keys(flags).length || !API_KEY_ID_PATTERN.test(positional[0])) {
    throw new UsageError('revoke takes one key id (the 12 hex digits after tq_)');
  }
  return positional[0];
}

function ready(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Redis did not answer within ${timeoutMs} ms (REDIS_URL, REDIS_PASSWORD)`)),
      timeoutMs,
    );
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
