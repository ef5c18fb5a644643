import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { GiveUp, waitFor } from './redis';

const ROOT = join(__dirname, '..', '..');
/**
 * Where the built apps are: `dist/` by default. Set TASKQ_DIST_DIR (e.g. a copy inside the repo such
 * as `.dist-faults`) so a rebuild running at the same time cannot swap the files under a test.
 */
const DIST = process.env.TASKQ_DIST_DIR ? join(ROOT, process.env.TASKQ_DIST_DIR) : join(ROOT, 'dist');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
    server.on('error', reject);
  });
}

/** A built app (dist/apps/<name>/main.js) running as a real child process. */
export class AppProcess {
  readonly output: string[] = [];
  private exited?: Promise<number | null>;

  private constructor(
    readonly name: 'api' | 'worker',
    readonly child: ChildProcess,
    /** The port /health lives on (api: PORT; worker: METRICS_PORT). */
    readonly port: number,
    readonly metricsPort: number,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.output.length > 5000) this.output.splice(0, this.output.length - 5000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(name: 'api' | 'worker', env: Record<string, string>): Promise<AppProcess> {
    const port = await freePort();
    const metricsPort = name === 'api' ? await freePort() : port;
    const child = spawn(process.execPath, [join(DIST, 'apps', name, 'main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: 'info',
        ...env,
        ...(name === 'api'
          ? { PORT: String(port), METRICS_PORT: String(metricsPort) }
          : { METRICS_PORT: String(port) }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(name, child, port, metricsPort);
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new GiveUp(new Error(`${name} exited with ${child.exitCode}:\n${app.output.join('\n')}`));
        const res = await fetch(`${app.url}/health/live`).catch(() => undefined);
        return res?.ok;
      },
      { timeoutMs: 20_000, what: `${name} to answer /health/live` },
    );
    return app;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get metricsUrl(): string {
    return `http://127.0.0.1:${this.metricsPort}/metrics`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal and waits for the exit; returns the exit code (null when killed by the signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exited!,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return code;
  }

  /** Log lines (JSON) that match. */
  logs(predicate: (line: Record<string, unknown>) => boolean): Record<string, unknown>[] {
    return this.output
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      })
      .filter((line): line is Record<string, unknown> => !!line && predicate(line));
  }
}

/** A redis-server of a test's own (a free port, a temp dir), for tests that stop or restart Redis. */
export class OwnRedis {
  private child?: ChildProcess;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extraArgs: string[] = [],
  ) {}

  static async create(extraArgs: string[] = []): Promise<OwnRedis> {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    return new OwnRedis(await freePort(), mkdtempSync(join(tmpdir(), 'taskq-own-redis-')), extraArgs);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', ...this.extraArgs],
      {
        stdio: 'ignore',
      },
    );
    const { default: Redis } = await import('ioredis');
    await waitFor(
      async () => {
        const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
      { timeoutMs: 10_000, what: `redis-server on ${this.port}` },
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill('SIGKILL');
    const { rmSync } = await import('node:fs');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A response http() received, as the e2e contract test records them. */
export interface RecordedResponse {
  method: string;
  url: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

type ResponseRecorder = (response: RecordedResponse) => void | Promise<void>;
let recordResponse: ResponseRecorder | undefined;

/** Has every response http() receives from now on passed to `record`, awaited (undefined: stop). */
export function recordHttpResponses(record: ResponseRecorder | undefined): void {
  recordResponse = record;
}

/** A JSON request with a deadline (a hang fails the test instead of stalling it). */
export async function http<T = any>(
  method: string,
  url: string,
  body?: unknown,
  init: { headers?: Record<string, string>; raw?: string; timeoutMs?: number } = {},
): Promise<JsonResponse<T>> {
  const payload = init.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const res = await fetch(url, {
    method,
    headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: payload,
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  await recordResponse?.({ method, url, status: res.status, headers: Object.fromEntries(res.headers), body: parsed });
  return { status: res.status, headers: res.headers, body: parsed as T };
}
