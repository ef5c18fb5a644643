/**
 * Every Redis key of libs/auth, built here and nowhere else.
 *
 * API key records share one hash tag, `<prefix>:{.auth}:...` (a `.` cannot occur in a queue name,
 * so it is never a queue's tag), so a Redis Cluster keeps them in one slot and the key scripts
 * touch one slot. Counters (rate limits, quotas) are tagged by the subject they count, so their
 * traffic spreads over the cluster; each is touched by single-key commands only. No script ever
 * mixes these keys with a queue's.
 */
export interface AuthKeys {
  /** HASH of one API key: name, scopes, queues, hash (SHA-256 of the secret, hex), created_at. */
  apiKey(id: string): string;
  /** ZSET (all scores 0) of every live API key id: listings page through it in id order. */
  apiKeyIndex: string;
  /** SET of revoked ids: an id is never issued again, and a revoked bootstrap key is not recreated. */
  revokedApiKeys: string;
  /** HASH `tasks`, `bytes` accepted for one subject in the current quota window (the key expires with it). */
  quota(subject: string): string;
  /** @fastify/rate-limit's namespace; its counter of a subject is `<namespace><rateLimitSuffix(subject)>`. */
  rateLimitNamespace: string;
}

export function authKeys(prefix: string): AuthKeys {
  const base = `${prefix}:{.auth}`;
  return {
    apiKey: (id) => `${base}:key:${id}`,
    apiKeyIndex: `${base}:keys`,
    revokedApiKeys: `${base}:revoked`,
    quota: (subject) => `${prefix}:quota:{${subject}}`,
    rateLimitNamespace: `${prefix}:rl:`,
  };
}

/** The part of a rate-limit counter's key after the namespace: the subject as its own hash tag. */
export function rateLimitSuffix(subject: string): string {
  return `{${subject}}`;
}

/** Every counter key under `prefix` (rate limits and quotas), for tests that tell them from other writes. */
export function isCounterKey(prefix: string, key: string): boolean {
  return key.startsWith(`${prefix}:rl:{`) || key.startsWith(`${prefix}:quota:{`);
}
