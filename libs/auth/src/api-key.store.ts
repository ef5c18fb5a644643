import { Inject, Injectable } from '@nestjs/common';
import { InjectRedis, QueueError, QueueErrorCode, RedisClient, redisCall } from '@app/queue';
import { generateApiKey, hashSecret, parseApiKey, secretMatches } from './api-key';
import { AUTH_OPTIONS } from './auth.module-definition';
import { AuthModuleOptions } from './auth.options';
import { authKeys, AuthKeys } from './keys/auth-keys';
import { LimitShapeError, OwnLimits, Quota, quotaFromWire, RateLimit, rateLimitFromWire } from './limits';
import { isScope, Principal, Scope } from './scopes';
import { AuthRedis, createApiKey, revokeApiKey, setApiKeyLimits, withAuthScripts } from './scripts/auth-scripts';

/**
 * How long an api process trusts what it read about a key: a revocation, a new key or a change of
 * its limits is seen by every replica within this time, without a message between them.
 */
export const API_KEY_CACHE_MS = 500;
/** Keys remembered per process at most (the oldest are forgotten first). */
const MAX_CACHED_KEYS = 10_000;

/** Names of keys: what listings and messages show. */
/** createApiKey's refusal codes: AUTH_CODE in scripts/lua/_prelude.lua, held equal by script-codes.spec. */
export const AUTH_SCRIPT_CODE = {
  KeyIdTaken: -2,
  KeyRevoked: -3,
} as const;

export const API_KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.:@/-]{0,63}$/;

/** An API key as stored, without its secret (Redis holds only the secret's hash). */
export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  /** The queues it may use; null = every queue. */
  queues: string[] | null;
  createdAt: number;
  /** Its own rate limit; null: RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS. */
  rateLimit: RateLimit | null;
  /** Its own quota; null: QUOTA_TASKS and QUOTA_PAYLOAD_BYTES per QUOTA_WINDOW_SECONDS. */
  quota: Quota | null;
}

export interface NewApiKey {
  name: string;
  scopes: readonly Scope[];
  queues: readonly string[] | null;
  /** Its own limits; absent or null: the environment's defaults. */
  rateLimit?: RateLimit | null;
  quota?: Quota | null;
}

/** A change of a key's own limits: a limit left out is kept as it is, null removes it (the default applies). */
export interface ApiKeyLimitsChange {
  rateLimit?: RateLimit | null;
  quota?: Quota | null;
}

interface Stored {
  record: ApiKeyRecord;
  hash: string;
}

/** API keys in Redis: create (the key is shown once), verify (cached briefly), list, revoke. */
@Injectable()
export class ApiKeyStore {
  private readonly redis: AuthRedis;
  private readonly keys: AuthKeys;
  private readonly cache = new Map<string, { stored: Stored | null; at: number }>();
  private readonly reading = new Map<string, Promise<Stored | null>>();

  constructor(@InjectRedis() redis: RedisClient, @Inject(AUTH_OPTIONS) options: Pick<AuthModuleOptions, 'prefix'>) {
    this.redis = withAuthScripts(redis);
    this.keys = authKeys(options.prefix);
  }

  /** A new key; the returned `key` is the only time its secret exists outside the caller. */
  async create(input: NewApiKey): Promise<{ key: string; record: ApiKeyRecord }> {
    const { id, secret, key } = generateApiKey();
    const [code, createdAt] = await this.store(id, secret, input, 'create');
    // 48 random bits: a taken id is next to impossible; refuse rather than retry blindly.
    if (code !== 1) throw new QueueError(QueueErrorCode.Conflict, 'createApiKey', `key id ${id} is taken; try again`);
    return { key, record: { id, ...copy(input), createdAt } };
  }

  /**
   * Makes sure `key` exists with these settings (the bootstrap admin key): 'created', 'exists', or
   * 'revoked' (an operator revoked it; it is not brought back).
   */
  async ensure(key: string, input: NewApiKey): Promise<'created' | 'exists' | 'revoked'> {
    const parts = parseApiKey(key);
    if (!parts) throw new Error('not an API key (tq_<12 hex>_<64 hex>)');
    const [code] = await this.store(parts.id, parts.secret, input, 'ensure');
    if (code === AUTH_SCRIPT_CODE.KeyRevoked) return 'revoked';
    if (code === AUTH_SCRIPT_CODE.KeyIdTaken) throw new Error(`key id ${parts.id} already holds another key`);
    return code === 1 ? 'created' : 'exists';
  }

  /** The key's record when `key` is a live key, else undefined. Reads Redis at most every API_KEY_CACHE_MS per id. */
  async verify(key: string): Promise<ApiKeyRecord | undefined> {
    const parts = parseApiKey(key);
    if (!parts) return undefined;
    const stored = await this.lookup(parts.id);
    return stored && secretMatches(parts.secret, stored.hash) ? stored.record : undefined;
  }

  /** Live keys in id order, `limit` at a time; `cursor` is the last id of the previous page. */
  async list(limit: number, cursor?: string): Promise<{ keys: ApiKeyRecord[]; nextCursor: string | null }> {
    const ids = await redisCall('listApiKeys', () =>
      this.redis.zrange(this.keys.apiKeyIndex, cursor ? `(${cursor}` : '-', '+', 'BYLEX', 'LIMIT', 0, limit + 1),
    );
    const page = ids.slice(0, limit);
    const pipe = this.redis.pipeline();
    page.forEach((id) => pipe.hgetall(this.keys.apiKey(id)));
    const replies = page.length ? await redisCall('listApiKeys', () => pipe.exec()) : [];
    const keys = page.flatMap((id, i) => {
      const [error, hash] = replies?.[i] ?? [];
      const stored = error ? null : toStored(id, hash as Record<string, string>);
      return stored ? [stored.record] : [];
    });
    return { keys, nextCursor: ids.length > limit ? page[page.length - 1] : null };
  }

  /**
   * Changes a live key's own limits; its record after the change, or undefined when no live key has
   * this id (nothing written). Every replica applies the change within API_KEY_CACHE_MS.
   */
  async setLimits(id: string, change: ApiKeyLimitsChange): Promise<ApiKeyRecord | undefined> {
    const fields = await redisCall('setApiKeyLimits', () =>
      setApiKeyLimits.run(this.redis, { record: this.keys.apiKey(id) }, { limits: limitArgs(change, 'keep') }),
    );
    this.cache.delete(id);
    if (!fields) return undefined;
    const stored = toStored(id, fields);
    if (!stored) throw new Error(`API key ${id} has a malformed record in Redis`);
    return stored.record;
  }

  /** Revokes a key: false when no live key has this id. Every replica refuses it within API_KEY_CACHE_MS. */
  async revoke(id: string): Promise<boolean> {
    const revoked = await redisCall('revokeApiKey', () => revokeApiKey.run(this.redis, this.recordKeys(id), { id }));
    this.cache.delete(id);
    return revoked === 1;
  }

  private async store(
    id: string,
    secret: string,
    input: NewApiKey,
    mode: 'create' | 'ensure',
  ): Promise<[number, number]> {
    const reply = await redisCall('createApiKey', () =>
      createApiKey.run(this.redis, this.recordKeys(id), {
        id,
        secretHash: hashSecret(secret),
        name: input.name,
        scopes: input.scopes.join(','),
        queues: input.queues === null ? '*' : input.queues.join(','),
        mode,
        limits: limitArgs(input, 'clear'),
      }),
    );
    this.cache.delete(id);
    return [reply[0], reply[1] ?? 0];
  }

  private recordKeys(id: string) {
    return { record: this.keys.apiKey(id), index: this.keys.apiKeyIndex, revoked: this.keys.revokedApiKeys };
  }

  private async lookup(id: string): Promise<Stored | null> {
    const cached = this.cache.get(id);
    if (cached && Date.now() - cached.at < API_KEY_CACHE_MS) return cached.stored;
    let reading = this.reading.get(id);
    if (!reading) {
      reading = redisCall('verifyApiKey', () => this.redis.hgetall(this.keys.apiKey(id)))
        .then((hash) => {
          const stored = toStored(id, hash);
          this.remember(id, stored);
          return stored;
        })
        .finally(() => this.reading.delete(id));
      this.reading.set(id, reading);
    }
    return reading;
  }

  private remember(id: string, stored: Stored | null): void {
    this.cache.delete(id);
    if (this.cache.size >= MAX_CACHED_KEYS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, { stored, at: Date.now() });
  }
}

/** The principal an API key stands for. */
export function apiKeyPrincipal(record: ApiKeyRecord): Principal {
  return {
    subject: `key:${record.id}`,
    name: record.name,
    kind: 'api-key',
    scopes: record.scopes,
    queues: record.queues,
    limits: { rateLimit: record.rateLimit, quota: record.quota },
  };
}

function copy(input: NewApiKey): Omit<ApiKeyRecord, 'id' | 'createdAt'> {
  return {
    name: input.name,
    scopes: [...input.scopes],
    queues: input.queues === null ? null : [...input.queues],
    rateLimit: input.rateLimit ? { ...input.rateLimit } : null,
    quota: input.quota ? { ...input.quota } : null,
  };
}

/**
 * The limits as the key scripts take them (ownLimitsArgs in the scripts' prelude): per limit its
 * mode (`absent` when left out, 'clear' for null, 'set'), then its numbers (0: none).
 */
function limitArgs(change: ApiKeyLimitsChange, absent: 'keep' | 'clear'): (string | number)[] {
  const mode = (limit: unknown) => (limit === undefined ? absent : limit === null ? 'clear' : 'set');
  const { rateLimit: rate, quota } = change;
  return [
    mode(rate),
    rate?.max ?? 0,
    rate?.perMs ?? 0,
    mode(quota),
    quota?.tasks ?? 0,
    quota?.payloadBytes ?? 0,
    quota?.perSeconds ?? 0,
  ];
}

/** A record's own limits; undefined when they are malformed. */
function limitsOf(hash: Record<string, string>): OwnLimits | undefined {
  const given = (field: string) => hash[field] !== undefined;
  const number = (field: string) => (given(field) ? Number(hash[field]) : undefined);
  try {
    const ownRate = given('rate_max') || given('rate_per_ms');
    const ownQuota = given('quota_per_seconds') || given('quota_tasks') || given('quota_bytes');
    return {
      rateLimit: ownRate ? rateLimitFromWire({ max: number('rate_max'), per_ms: number('rate_per_ms') }, 'rate') : null,
      quota: ownQuota
        ? quotaFromWire(
            {
              per_seconds: number('quota_per_seconds'),
              ...(given('quota_tasks') && { tasks: number('quota_tasks') }),
              ...(given('quota_bytes') && { payload_bytes: number('quota_bytes') }),
            },
            'quota',
          )
        : null,
    };
  } catch (error) {
    if (error instanceof LimitShapeError) return undefined;
    throw error;
  }
}

/** A record as read; null when missing or malformed (a malformed record grants nothing). */
function toStored(id: string, hash: Record<string, string>): Stored | null {
  if (!hash.hash || !hash.name || !hash.scopes || !hash.queues) return null;
  const scopes = hash.scopes.split(',');
  const limits = limitsOf(hash);
  if (!scopes.every(isScope) || !limits) return null;
  return {
    hash: hash.hash,
    record: {
      id,
      name: hash.name,
      scopes: scopes as Scope[],
      queues: hash.queues === '*' ? null : hash.queues.split(','),
      createdAt: Number(hash.created_at),
      ...limits,
    },
  };
}
