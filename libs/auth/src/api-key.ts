import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An API key is `tq_<id>_<secret>`: a 12-hex-digit id (48 bits, not secret: it names the key in
 * listings and logs and finds its record) and a 64-hex-digit secret (256 random bits). Redis keeps
 * only the SHA-256 of the secret: a high-entropy secret needs no slow hash, and a leaked database
 * yields no usable key. The `tq_` prefix lets secret scanners recognize a leaked key.
 */
export const API_KEY_PATTERN = /^tq_([0-9a-f]{12})_([0-9a-f]{64})$/;
export const API_KEY_ID_PATTERN = /^[0-9a-f]{12}$/;

export interface ApiKeyParts {
  id: string;
  secret: string;
}

export function parseApiKey(key: string): ApiKeyParts | undefined {
  const match = API_KEY_PATTERN.exec(key);
  return match ? { id: match[1], secret: match[2] } : undefined;
}

export function generateApiKey(): ApiKeyParts & { key: string } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return { id, secret, key: `tq_${id}_${secret}` };
}

/** SHA-256 of the secret, hex: what Redis stores. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `secret` hashes to `storedHash`, compared in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(/^[0-9a-f]{64}$/.test(storedHash) ? storedHash : '', 'hex');
  // Equal lengths first (timingSafeEqual demands it); a malformed record matches nothing.
  return stored.length === given.length && timingSafeEqual(given, stored);
}
