'use strict';
// The soak: one API key submitting at a steady rate (1,000/s) for a long time (10 minutes) to the built
// api with AUTH_MODE=api-key and every rate limit and quota at its default, a worker draining. A
// producer at that rate must never be refused: every answer is a 202, no 429 and no other status.
// Run in one-minute segments, so a limit reached late, a slowdown or a leak shows in its minute.
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const autocannon = require('autocannon');
const { DIST, freePort, procCpuMs, procRss, spawnNode, stopProcess, waitFor } = require('../lib/util');

const PREFIX = 'soak';
const BODY = JSON.stringify({ task_type: 'echo', payload: { order: 42, email: 'hello@domain.com' } });
/**
 * autocannon paces each connection at rate / connections and waits for each answer: 100 connections
 * hold 1,000/s while answers take up to 100 ms (a shared machine's worst moments), as a producer's
 * pool of connections would.
 */
const CONNECTIONS = 100;
/** Every limit variable blank: validated as unset, so the defaults apply whatever the shell sets. */
const DEFAULT_LIMITS = {
  RATE_LIMIT_MAX: '',
  RATE_LIMIT_WINDOW_MS: '',
  RATE_LIMIT_UNAUTHENTICATED_MAX: '',
  QUOTA_TASKS: '',
  QUOTA_PAYLOAD_BYTES: '',
  QUOTA_WINDOW_SECONDS: '',
};

async function json(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/**
 * `rate` submits/s for `seconds` from one key; per segment of `segmentSeconds`: requests, statuses,
 * latency and the api's RSS. Returns the segments and totals.
 */
async function soakOnce(redis, { rate, seconds, segmentSeconds = 60 }) {
  await redis.client.flushall();
  const admin = `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;
  const [port, apiMetrics, workerMetrics] = [await freePort(), await freePort(), await freePort()];
  const api = spawnNode(path.join(DIST, 'apps/api/main.js'), {
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: PREFIX,
      AUTH_MODE: 'api-key',
      BOOTSTRAP_ADMIN_KEY: admin,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(apiMetrics),
      // info: the line with the limits it resolved at boot (then only warnings and errors at this load).
      LOG_LEVEL: 'info',
      ...DEFAULT_LIMITS,
    },
    keepStdout: true,
  });
  const worker = spawnNode(path.join(DIST, 'apps/worker/main.js'), {
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: PREFIX,
      WORKER_QUEUES: 'default',
      WORKER_CONCURRENCY: '50',
      RESULT_TTL_SECONDS: '60',
      METRICS_PORT: String(workerMetrics),
      LOG_LEVEL: 'warn',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  const asAdmin = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  try {
    let producer;
    await waitFor(
      async () => {
        if (api.exitCode !== null) throw new Error(`api exited: ${api.stderrTail()}`);
        const created = await json(`${base}/auth/keys`, {
          method: 'POST',
          headers: asAdmin,
          body: JSON.stringify({ name: 'soak-producer', scopes: ['submit'] }),
        });
        producer = created.status === 201 ? created.body : undefined;
        return producer !== undefined;
      },
      30_000,
      'the api and the producer key',
    );
    const segments = [];
    const cpuAtStart = procCpuMs(api.pid);
    const started = Date.now();
    for (let elapsed = 0; elapsed < seconds; elapsed += segmentSeconds) {
      const duration = Math.min(segmentSeconds, seconds - elapsed);
      const result = await autocannon({
        url: `${base}/submit`,
        method: 'POST',
        connections: CONNECTIONS,
        overallRate: rate,
        duration,
        headers: { 'content-type': 'application/json', 'x-api-key': producer.key },
        body: BODY,
      });
      const statuses = Object.fromEntries(
        Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]),
      );
      const segment = {
        fromSecond: elapsed,
        toSecond: elapsed + duration,
        requests: result.requests.total,
        perSecond: result.requests.total / (result.duration || segmentSeconds),
        accepted: statuses['202'] ?? 0,
        tooMany: statuses['429'] ?? 0,
        otherStatus: Object.entries(statuses)
          .filter(([code]) => code !== '202' && code !== '429')
          .reduce((sum, [, count]) => sum + count, 0),
        errors: result.errors + result.timeouts,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        maxMs: result.latency.max,
        apiRssMiB: procRss(api.pid) / 2 ** 20,
      };
      segments.push(segment);
      console.log(
        `  soak ${elapsed}-${elapsed + duration} s: ${segment.requests} requests (${segment.perSecond.toFixed(0)}/s), 202 ${segment.accepted}, 429 ${segment.tooMany}, other ${segment.otherStatus}, errors ${segment.errors}, p50 ${segment.p50Ms} / p99 ${segment.p99Ms} / max ${segment.maxMs} ms`,
      );
    }
    const elapsedMs = Date.now() - started;
    const apiCpuMs = procCpuMs(api.pid) - cpuAtStart;
    // What the quota counted for the key in its (default, hourly) window, and what is left queued.
    const counters = await redis.client.keys(`${PREFIX}:quota:{key:${producer.id}}:*`);
    const counted = counters.length ? await redis.client.hget(counters[0], 'tasks') : null;
    const queues = await json(`${base}/queues/default`, { headers: asAdmin });
    const sum = (field) => segments.reduce((total, segment) => total + segment[field], 0);
    return {
      rate,
      seconds,
      connections: CONNECTIONS,
      segments,
      totals: {
        requests: sum('requests'),
        accepted: sum('accepted'),
        tooMany: sum('tooMany'),
        otherStatus: sum('otherStatus'),
        errors: sum('errors'),
        perSecond: sum('requests') / (elapsedMs / 1000),
        worstP99Ms: Math.max(...segments.map((segment) => segment.p99Ms)),
        maxMs: Math.max(...segments.map((segment) => segment.maxMs)),
        apiCpuUsPerRequest: (apiCpuMs * 1000) / Math.max(1, sum('requests')),
        quotaCounter: counters[0] ?? null,
        quotaCounted: counted === null ? null : Number(counted),
        queuedAtEnd: queues.body?.counts?.queued ?? null,
      },
      defaults: defaultLimitsOf(api),
    };
  } finally {
    await stopProcess(worker);
    await stopProcess(api);
  }
}

/** The limits the api logged at boot (its `default_limits` line), to print beside the result. */
function defaultLimitsOf(api) {
  for (const line of api.stdoutLines) {
    try {
      const entry = JSON.parse(line);
      if (entry.default_limits) return entry.default_limits;
    } catch {
      // not a log line
    }
  }
  return null;
}

module.exports = { soakOnce };
