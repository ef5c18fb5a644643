import { BACKOFF_TYPES, TaskBackoff } from '@app/contracts';

/**
 * A task's own backoff as its hash keeps it (field `backoff`, written only when the submitter gave
 * one), and as the PostgreSQL history keeps it: a short text, not JSON, since every waiting task
 * carries it. `d:1000,5000,30000` is a schedule of delays; `e:500:60000:1` an exponential curve
 * (base, max or empty, jitter 1 or 0) and `f:750::0` a fixed one.
 */
export function encodeBackoff(backoff: TaskBackoff): string {
  if ('delaysMs' in backoff) return `d:${backoff.delaysMs.join(',')}`;
  return `${backoff.type[0]}:${backoff.baseMs}:${backoff.maxMs ?? ''}:${backoff.jitter ? 1 : 0}`;
}

const WHOLE = /^\d{1,15}$/;
const CURVE = /^([fe]):(\d{1,15}):(\d{1,15})?:([01])$/;

/** The stored form back; null when there is none (the type's backoff applies) or it cannot be read. */
export function decodeBackoff(text: string | null | undefined): TaskBackoff | null {
  if (!text) return null;
  if (text.startsWith('d:')) {
    const parts = text.slice(2).split(',');
    return parts.every((part) => WHOLE.test(part)) ? { delaysMs: parts.map(Number) } : null;
  }
  const curve = CURVE.exec(text);
  if (!curve) return null;
  const type = BACKOFF_TYPES.find((name) => name[0] === curve[1])!;
  return {
    type,
    baseMs: Number(curve[2]),
    ...(curve[3] === undefined ? {} : { maxMs: Number(curve[3]) }),
    jitter: curve[4] === '1',
  };
}
