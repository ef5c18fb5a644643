import { API_KEY_PATTERN, generateApiKey, hashSecret, parseApiKey, secretMatches } from './api-key';
import { authKeys, isCounterKey } from './keys/auth-keys';
import { ANONYMOUS, hasScope, Principal, visibleQueues } from './scopes';

describe('API keys', () => {
  it('are tq_<12 hex id>_<64 hex secret>, random each time', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).toMatch(API_KEY_PATTERN);
    expect(a.key).toBe(`tq_${a.id}_${a.secret}`);
    expect(a.id).not.toBe(b.id);
    expect(a.secret).not.toBe(b.secret);
    expect(parseApiKey(a.key)).toEqual({ id: a.id, secret: a.secret });
    for (const bad of ['', 'tq_', `tq_${a.id}`, `TQ_${a.id}_${a.secret}`, `tq_${a.id}_${a.secret}x`, `${a.key}\n`]) {
      expect(parseApiKey(bad)).toBeUndefined();
    }
  });

  it('are stored as the SHA-256 of the secret and matched against it', () => {
    const { secret } = generateApiKey();
    const stored = hashSecret(secret);
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain(secret);
    expect(secretMatches(secret, stored)).toBe(true);
    expect(secretMatches(`${secret.slice(0, -1)}0`, stored)).toBe(secret.endsWith('0'));
    // A malformed stored hash matches nothing (and does not throw on the length difference).
    expect(secretMatches(secret, stored.slice(2))).toBe(false);
    expect(secretMatches(secret, '')).toBe(false);
  });
});

describe('auth key layout (Redis Cluster)', () => {
  const slotTag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];

  it('keeps every API key record, the index and the revoked set under one hash tag no queue can have', () => {
    const keys = authKeys('taskq');
    const all = [keys.apiKey('0123456789ab'), keys.apiKey('ffffffffffff'), keys.apiKeyIndex, keys.revokedApiKeys];
    expect(new Set(all.map(slotTag))).toEqual(new Set(['.auth']));
    expect(all.every((key) => key.startsWith('taskq:'))).toBe(true);
    // Queue names are [a-z0-9_-]: '.auth' is never a queue's tag.
    expect(/^[a-z0-9_-]{1,64}$/.test('.auth')).toBe(false);
  });

  it('tags each counter by its subject, under the prefix, and names its window', () => {
    const keys = authKeys('taskq');
    expect(slotTag(keys.quota('key:0123456789ab', 3600))).toBe('key:0123456789ab');
    expect(slotTag(keys.rate('ip:10.0.0.1', 60_000))).toBe('ip:10.0.0.1');
    expect(isCounterKey('taskq', keys.quota('key:x', 60))).toBe(true);
    expect(isCounterKey('taskq', keys.rate('ip:::1', 1000))).toBe(true);
    expect(isCounterKey('taskq', keys.apiKey('0123456789ab'))).toBe(false);
    // A new window length is a new counter: it never inherits the old window's expiry.
    expect(keys.quota('key:x', 60)).not.toBe(keys.quota('key:x', 3600));
    expect(keys.rate('key:x', 1000)).not.toBe(keys.rate('key:x', 60_000));
  });
});

describe('scopes', () => {
  const reader: Principal = { subject: 'key:a', name: 'r', kind: 'api-key', scopes: ['read'], queues: ['emails'] };
  const admin: Principal = { ...reader, scopes: ['admin'], queues: null };

  it('admin holds every scope; others only their own', () => {
    expect(['submit', 'read', 'admin'].map((s) => hasScope(reader, s as 'read'))).toEqual([false, true, false]);
    expect(['submit', 'read', 'admin'].map((s) => hasScope(admin, s as 'read'))).toEqual([true, true, true]);
    expect(hasScope(ANONYMOUS, 'admin')).toBe(true);
  });

  it('a restricted principal sees only its queues', () => {
    expect(visibleQueues(reader, ['default', 'emails', 'sms'])).toEqual(['emails']);
    expect(visibleQueues(admin, ['default', 'emails'])).toEqual(['default', 'emails']);
  });
});
