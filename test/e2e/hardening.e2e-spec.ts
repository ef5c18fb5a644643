import { randomBytes } from 'node:crypto';
import { AppProcess, http, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(90_000);

/** A raw fetch, kept out of the OpenAPI contract check (CORS preflights are answered by @fastify/cors, not an operation). */
const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
    signal: AbortSignal.timeout(10_000),
  });

describe('security headers, CSP, CORS (AUTH_MODE=none stack)', () => {
  let stack: Stack;
  let cors: AppProcess;

  beforeAll(async () => {
    stack = new Stack();
    await stack.startApi();
    cors = await AppProcess.start('api', { ...stack.baseEnv, CORS_ORIGINS: 'https://app.example.com' });
  });
  afterAll(async () => {
    await cors?.stop('SIGKILL').catch(() => undefined);
    await stack.stop();
  });

  it('serves Swagger UI under a CSP that allows only its own scripts (no inline script, no eval), and everything it loads', async () => {
    const res = await fetch(`${stack.api.url}/docs`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directive = (name: string) => csp.split(';').find((d) => d.trim().startsWith(`${name} `)) ?? '';
    expect(directive('script-src')).toBe("script-src 'self'");
    expect(directive('default-src')).toBe("default-src 'self'");
    expect(directive('frame-ancestors')).toBe("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-eval|upgrade-insecure-requests/);
    const html = await res.text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    // Every script is a same-origin file: an inline one would be blocked by script-src 'self'.
    for (const [, attributes, body] of scripts) {
      expect(body.trim()).toBe('');
      expect(attributes).toMatch(/src="\.\/[^"]+"/);
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
    // Relative to /docs, as a browser resolves them.
    const assets = [...html.matchAll(/(?:src|href)="(\.\/[^"]+)"/g)].map(
      (m) => new URL(m[1], `${stack.api.url}/docs`).href,
    );
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) expect({ asset, status: (await fetch(asset)).status }).toEqual({ asset, status: 200 });
    const init = await (await fetch(`${stack.api.url}/docs/swagger-ui-init.js`)).text();
    // The document Swagger UI shows, with the schemes its Authorize button offers.
    expect(init).toContain('"securitySchemes"');
    expect(init).toContain('"X-API-Key"');
  });

  it('sends the security headers on API answers too, and no CORS header by default', async () => {
    const res = await http('GET', `${stack.api.url}/queues`, undefined, {
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(
      (await preflight(`${stack.api.url}/submit`, 'https://evil.example')).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });

  it('answers CORS preflights only for CORS_ORIGINS', async () => {
    const allowed = await preflight(`${cors.url}/submit`, 'https://app.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const refused = await preflight(`${cors.url}/submit`, 'https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('TRUST_PROXY: X-Forwarded-For counts only from configured proxies', () => {
  let stack: Stack;
  let behindProxy: AppProcess;

  beforeAll(async () => {
    stack = new Stack({ AUTH_MODE: 'api-key', RATE_LIMIT_UNAUTHENTICATED_MAX: '2' });
    await stack.startApi();
    behindProxy = await AppProcess.start('api', { ...stack.baseEnv, TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await behindProxy?.stop('SIGKILL').catch(() => undefined);
    await stack.stop();
  });

  const statuses = async (api: AppProcess) => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) {
      const forwardedFor = `203.0.113.${randomBytes(1)[0]}, 198.51.100.${i}`;
      out.push(
        (await http('GET', `${api.url}/queues`, undefined, { headers: { 'x-forwarded-for': forwardedFor } })).status,
      );
    }
    return out;
  };

  it('ignores a forged X-Forwarded-For by default: the client cannot dodge its per-address limit', async () => {
    expect(await statuses(stack.api)).toEqual([401, 401, 429]);
  });

  it('takes the client address from X-Forwarded-For sent by a trusted proxy', async () => {
    expect(await statuses(behindProxy)).toEqual([401, 401, 401]);
  });
});

describe('QUEUE_UNSERVED_AFTER_MS: queued tasks in a queue no worker serves are shown and alerted on, never dropped', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack({ QUEUE_UNSERVED_AFTER_MS: '1000', RECOVERY_INTERVAL_MS: '200' });
    await stack.startApi();
  });
  afterAll(() => stack.stop());

  const queue = async (name: string) => (await http('GET', `${stack.api.url}/queues/${name}`)).body;
  const gauge = async (name: string) => {
    const text = await (await fetch(stack.api.metricsUrl)).text();
    return Number(new RegExp(`^queue_unserved\\{queue="${name}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  };

  it('marks a queue unserved once its tasks wait past the threshold with no worker, and clears it when a worker serves it', async () => {
    const ids = [
      await stack.submitOk({ task_type: 'echo', payload: 1, queue: 'orphan' }),
      await stack.submitOk({ task_type: 'echo', payload: 2, queue: 'orphan' }),
    ];
    expect(await queue('orphan')).toMatchObject({ unserved: false, last_served_at: null });
    await waitFor(async () => (await queue('orphan')).unserved, { what: 'orphan to be unserved' });
    expect(await queue('orphan')).toMatchObject({ counts: { queued: 2 }, last_served_at: null });
    await waitFor(async () => (await gauge('orphan')) === 1, { what: 'queue_unserved{queue="orphan"} 1' });

    // A paused queue a worker serves is not unserved: pausing is the operator's choice.
    await http('POST', `${stack.api.url}/queues/held/pause`);
    const held = await stack.submitOk({ task_type: 'echo', payload: 3, queue: 'held' });
    await stack.startWorker({ WORKER_QUEUES: 'orphan,held' });
    for (const id of ids) await stack.waitForStatus(id, ['succeeded']);
    const served = await waitFor(
      async () => {
        const body = await queue('orphan');
        return !body.unserved && body.last_served_at !== null ? body : undefined;
      },
      { what: 'orphan to be served' },
    );
    expect(Date.parse(served.last_served_at)).toBeGreaterThan(Date.now() - 60_000);
    await waitFor(async () => (await gauge('orphan')) === 0, { what: 'queue_unserved{queue="orphan"} 0' });
    // Past the threshold, still paused, still queued: served, so not unserved.
    await waitFor(async () => (await queue('held')).oldest_queued_age_ms > 1500, {
      what: 'held to wait past the threshold',
    });
    expect(await queue('held')).toMatchObject({ paused: true, unserved: false, counts: { queued: 1 } });
    await http('POST', `${stack.api.url}/queues/held/resume`);
    await stack.waitForStatus(held, ['succeeded']);
  });
});
