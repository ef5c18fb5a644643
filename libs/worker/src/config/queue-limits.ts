import { QueueControls } from '@app/queue';

export type QueueLimits = Pick<QueueControls, 'rate' | 'concurrency'>;

const QUEUE = /^[a-z0-9_-]{1,64}$/;
const isInt = (value: unknown, min: number, max: number) =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/**
 * What is wrong with a QUEUE_LIMITS value, or undefined when it is fine: a JSON object of queue name
 * → `{ "rate": {"max", "per_ms"} | null, "concurrency": n | null }` (the body of PUT /queues/{name}/limits).
 */
export function queueLimitsProblem(json: string): string | undefined {
  if (json.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return 'must be JSON, e.g. {"emails":{"rate":{"max":100,"per_ms":1000},"concurrency":20}}';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'must be a JSON object of queue name → limits';
  for (const [queue, limits] of Object.entries(parsed)) {
    if (!QUEUE.test(queue)) return `names queue "${queue}", which is not 1-64 characters of [a-z0-9_-]`;
    const { rate, concurrency, ...rest } = (limits ?? {}) as Record<string, unknown>;
    if (Object.keys(rest).length) return `${queue}: unknown field ${Object.keys(rest)[0]} (rate and concurrency only)`;
    if (rate !== undefined && rate !== null) {
      const { max, per_ms } = rate as Record<string, unknown>;
      if (!isInt(max, 1, 1_000_000) || !isInt(per_ms, 1, 86_400_000)) {
        return `${queue}.rate must be {"max": 1..1000000, "per_ms": 1..86400000}`;
      }
    }
    if (concurrency !== undefined && concurrency !== null && !isInt(concurrency, 1, 100_000)) {
      return `${queue}.concurrency must be 1..100000 or null`;
    }
  }
  return undefined;
}

/** QUEUE_LIMITS (already validated) as the queue library's limits. */
export function parseQueueLimits(json: string): Map<string, QueueLimits> {
  const out = new Map<string, QueueLimits>();
  if (json.trim() === '') return out;
  for (const [queue, limits] of Object.entries(JSON.parse(json) as Record<string, Record<string, unknown> | null>)) {
    const rate = limits?.rate as { max: number; per_ms: number } | null | undefined;
    out.set(queue, {
      rate: rate ? { max: rate.max, perMs: rate.per_ms } : null,
      concurrency: (limits?.concurrency as number | null | undefined) ?? null,
    });
  }
  return out;
}
