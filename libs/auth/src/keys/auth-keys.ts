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
  /**
   * HASH of one API key: name, scopes, queues, hash (SHA-256 of the secret, hex), created_at, and its
   * own limits when it has them: rate_max and rate_per_ms; quota_per_seconds with quota_tasks and/or
   * quota_bytes.
   */
  apiKey(id: string): string;
  /** ZSET (all scores 0) of every live API key id: listings page through it in id order. */
  apiKeyIndex: string;
  /** SET of revoked ids: an id is never issued again, and a revoked bootstrap key is not recreated. */
  revokedApiKeys: string;
  /**
   * HASH `tasks`, `bytes` accepted for one subject in the current quota window of `windowSeconds` (the
   * key expires with it). The window is part of the name, so a credential whose window changes starts
   * a new one rather than keep the old one's expiry.
   */
  quota(subject: string, windowSeconds: number): string;
  /**
   * HASH `requests` counted for one subject (a credential, or `ip:<address>`) in the current rate-limit
   * window of `windowMs` (the key expires with it); the window is part of the name, as for quotas.
   */
  rate(subject: string, windowMs: number): string;
}

export function authKeys(prefix: string): AuthKeys {
  const base = `${prefix}:{.auth}`;
  return {
    apiKey: (id) => `${base}:key:${id}`,
    apiKeyIndex: `${base}:keys`,
    revokedApiKeys: `${base}:revoked`,
    quota: (subject, windowSeconds) => `${prefix}:quota:{${subject}}:${windowSeconds}s`,
    rate: (subject, windowMs) => `${prefix}:rate:{${subject}}:${windowMs}ms`,
  };
}

/** Every counter key under `prefix` (rate limits and quotas), for tests that tell them from other writes. */
export function isCounterKey(prefix: string, key: string): boolean {
  return key.startsWith(`${prefix}:rate:{`) || key.startsWith(`${prefix}:quota:{`);
}
