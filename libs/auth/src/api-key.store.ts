import { Inject, Injectable } from '@nestjs/common';
import { InjectRedis, QueueError, QueueErrorCode, RedisClient, redisCall } from '@app/queue';
import { generateApiKey, hashSecret, parseApiKey, secretMatches } from './api-key';
import { AUTH_OPTIONS } from './auth.module-definition';
import { AuthModuleOptions } from './auth.options';
import { authKeys, AuthKeys } from './keys/auth-keys';
import { isScope, Principal, Scope } from './scopes';
import { AuthRedis, withAuthScripts } from './scripts/auth-scripts';

/**
 * How long an api process trusts what it read about a key: a revocation (or a new key) is seen by
 * every replica within this time, without a message between them.
 */
export const API_KEY_CACHE_MS = 500;
/** Keys remembered per process at most (the oldest are forgotten first). */
const MAX_CACHED_KEYS = 10_000;

/** Names of keys: what listings and messages show. */
export const API_KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.:@/-]{0,63}$/;

/** An API key as stored, without its secret (Redis holds only the secret's hash). */
export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  /** The queues it may use; null = every queue. */
  queues: string[] | null;
  createdAt: number;
}

export interface NewApiKey {
  name: string;
  scopes: readonly Scope[];
  queues: readonly string[] | null;
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
    if (code === -3) return 'revoked';
    if (code === -2) throw new Error(`key id ${parts.id} already holds another key`);
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

  /** Revokes a key: false when no live key has this id. Every replica refuses it within API_KEY_CACHE_MS. */
  async revoke(id: string): Promise<boolean> {
    const revoked = await redisCall('revokeApiKey', () =>
      this.redis.taskqAuthRevokeApiKey(this.keys.apiKey(id), this.keys.apiKeyIndex, this.keys.revokedApiKeys, id),
    );
    this.cache.delete(id);
    return Number(revoked) === 1;
  }

  private async store(
    id: string,
    secret: string,
    input: NewApiKey,
    mode: 'create' | 'ensure',
  ): Promise<[number, number]> {
    const reply = await redisCall('createApiKey', () =>
      this.redis.taskqAuthCreateApiKey(
        this.keys.apiKey(id),
        this.keys.apiKeyIndex,
        this.keys.revokedApiKeys,
        id,
        hashSecret(secret),
        input.name,
        input.scopes.join(','),
        input.queues === null ? '*' : input.queues.join(','),
        mode,
      ),
    );
    this.cache.delete(id);
    return [Number(reply[0]), Number(reply[1] ?? 0)];
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
  };
}

function copy(input: NewApiKey): Omit<ApiKeyRecord, 'id' | 'createdAt'> {
  return { name: input.name, scopes: [...input.scopes], queues: input.queues === null ? null : [...input.queues] };
}

/** A record as read; null when missing or malformed (a malformed record grants nothing). */
function toStored(id: string, hash: Record<string, string>): Stored | null {
  if (!hash.hash || !hash.name || !hash.scopes || !hash.queues) return null;
  const scopes = hash.scopes.split(',');
  if (!scopes.every(isScope)) return null;
  return {
    hash: hash.hash,
    record: {
      id,
      name: hash.name,
      scopes: scopes as Scope[],
      queues: hash.queues === '*' ? null : hash.queues.split(','),
      createdAt: Number(hash.created_at),
    },
  };
}
