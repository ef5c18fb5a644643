import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { GiveUp, waitFor } from './redis';

const ROOT = join(__dirname, '..', '..');
/**
 * Where the built apps are: `dist/` by default. Set TASKQ_DIST_DIR (e.g. a copy inside the repo such
 * as `.dist-faults`) so a rebuild running at the same time cannot swap the files under a test.
 */
const DIST = process.env.TASKQ_DIST_DIR ? join(ROOT, process.env.TASKQ_DIST_DIR) : join(ROOT, 'dist');

/** Lowest port of the kernel's ephemeral range: outgoing connections take their local port at or above it. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

const PORT_FLOOR = 10_000;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
    server.on('error', reject);
  });
}

/**
 * A port that is free now, for a server a test starts. Picked at random below the kernel's ephemeral
 * range when there is room: no outgoing connection can take such a port as its local port, neither
 * between this check and the server's bind nor while a server restarts on it (Redis restarted on its
 * AOF). It is still check-then-use (another test may bind it first), so the starters below notice a
 * failed bind and retry on a new port where the port may change.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  if (high - PORT_FLOOR >= 1000) {
    for (let tries = 0; tries < 50; tries++) {
      const port = PORT_FLOOR + Math.floor(Math.random() * (high - PORT_FLOOR));
      if (await portIsFree(port)) return port;
    }
  }
  return kernelPickedPort();
}

/** A server's own words for "the port was taken": Node's EADDRINUSE, redis-server's bind error. */
const PORT_TAKEN = /EADDRINUSE|Address already in use/i;
/** Starts on a new port after a lost bind race; more than this and something else is wrong. */
const PORT_TRIES = 5;

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

  /**
   * Starts the app and waits until it answers /health/live. An app that exits instead fails at once
   * with its output; one that lost the race for its port (see freePort) is started again on new ports.
   */
  static async start(name: 'api' | 'worker', env: Record<string, string>): Promise<AppProcess> {
    for (let attempt = 1; ; attempt++) {
      const app = await AppProcess.spawn(name, env);
      try {
        await waitFor(
          async () => {
            if (!app.running) {
              const how = app.child.exitCode ?? app.child.signalCode;
              throw new GiveUp(new Error(`${name} exited with ${how}:\n${app.output.join('\n')}`));
            }
            const res = await fetch(`${app.url}/health/live`).catch(() => undefined);
            return res?.ok;
          },
          { timeoutMs: 20_000, what: `${name} to answer /health/live` },
        );
        return app;
      } catch (error) {
        await app.stop('SIGKILL').catch(() => undefined);
        if (attempt < PORT_TRIES && PORT_TAKEN.test(app.output.join('\n'))) continue;
        throw error;
      }
    }
  }

  private static async spawn(name: 'api' | 'worker', env: Record<string, string>): Promise<AppProcess> {
    const port = await freePort();
    const metricsPort = name === 'api' ? await freePort() : port;
    // With the bundle's source maps, as the image (NODE_OPTIONS) and npm start run it: stacks name the .ts files.
    const child = spawn(process.execPath, ['--enable-source-maps', join(DIST, 'apps', name, 'main.js')], {
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
    return new AppProcess(name, child, port, metricsPort);
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

/** Thrown by OwnRedis.start when redis-server exits instead of answering; carries its last log lines. */
export class RedisServerExited extends Error {
  constructor(
    readonly port: number,
    readonly how: string,
    readonly log: string[],
  ) {
    super(`redis-server on ${port} exited (${how}) instead of answering:\n${log.slice(-15).join('\n')}`);
  }

  get portTaken(): boolean {
    return PORT_TAKEN.test(this.log.join('\n'));
  }
}

/**
 * A redis-server of a test's own (a free port, a temp dir), for tests that stop, pause or restart
 * Redis. Faults use kill / pause; `ensureUp()` undoes either, so one failed fault cannot leave Redis
 * down or frozen for the tests after it.
 */
export class OwnRedis {
  private child?: ChildProcess;
  /** redis-server's own log lines (it logs to stdout), the latest few hundred. */
  readonly log: string[] = [];
  private answered = false;
  private paused = false;

  private constructor(
    private currentPort: number,
    readonly dir: string,
    private readonly extraArgs: string[] = [],
  ) {}

  static async create(extraArgs: string[] = []): Promise<OwnRedis> {
    return new OwnRedis(await freePort(), mkdtempSync(join(tmpdir(), 'taskq-own-redis-')), extraArgs);
  }

  get port(): number {
    return this.currentPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts redis-server and waits until it answers PING (after loading its AOF, if any). When the
   * process exits instead, this fails at once with redis-server's own message. Until the server
   * has answered once nobody knows its URL, so a port lost to another process (freePort is
   * check-then-use) is swapped for a new one. A restart keeps its port (clients hold the URL) and a
   * failed bind is reported as such, unless the caller says no client holds the URL any more
   * (`portMayChange`, e.g. between two tests that each read `url` afresh).
   */
  async start({ portMayChange = !this.answered } = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnAndWait();
        this.answered = true;
        return;
      } catch (error) {
        const retry = portMayChange && attempt < PORT_TRIES && error instanceof RedisServerExited && error.portTaken;
        if (!retry) throw error;
        this.currentPort = await freePort();
      }
    }
  }

  private async spawnAndWait(): Promise<void> {
    this.log.length = 0;
    this.paused = false;
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', ...this.extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.log.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.log.length > 300) this.log.splice(0, this.log.length - 300);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const port = this.port;
    // 'close' comes after the exit and after the pipes are drained, so the log holds the last words.
    const gone = new Promise<Error>((resolve) => {
      child.once('error', resolve);
      child.once('close', (code, signal) =>
        resolve(new RedisServerExited(port, `code ${code}, signal ${signal}`, [...this.log])),
      );
    });
    let exit: Error | undefined;
    // One rejection for every probe to race against, handled here once (no unhandled rejections later).
    const exited = gone.then((error) => {
      exit = error;
      throw new GiveUp(error);
    });
    exited.catch(() => undefined);
    await waitFor(
      async () => {
        if (exit) throw new GiveUp(exit);
        const probe = new Redis(this.url, {
          lazyConnect: true,
          enableReadyCheck: false,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
          // No connect timer (it would outlive a refused probe); the server's exit ends the wait instead.
          connectTimeout: 0,
        });
        probe.on('error', () => undefined);
        const answers = async () => {
          await probe.connect();
          // Ours, not a server someone else started on this port meanwhile (ours then exits on its bind).
          const pid = Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1]);
          return pid === child.pid && (await probe.ping()) === 'PONG';
        };
        try {
          // What listens on the port may be another program that accepts and never answers: then
          // ours fails its bind and exits, and the exit ends the wait.
          return await Promise.race([answers(), exited]);
        } finally {
          probe.disconnect();
        }
      },
      // A hang guard only: an exit is reported at once; loading a large AOF on a busy machine takes a while.
      { timeoutMs: 30_000, what: `redis-server on ${port} to answer PING` },
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.paused = false;
  }

  /** SIGSTOP: the server holds its connections but answers nothing until resume(). */
  pause(): void {
    if (!this.running) throw new Error('redis-server is not running');
    this.child!.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (this.running) this.child!.kill('SIGCONT');
    this.paused = false;
  }

  /** Running and not paused, whatever a fault (or a failed test) did to it; see start() for `portMayChange`. */
  async ensureUp(options: { portMayChange?: boolean } = {}): Promise<void> {
    if (this.running) {
      // SIGCONT is harmless to a running process: sent even when we did not record a pause.
      this.resume();
      return;
    }
    await this.start(options);
  }

  async destroy(): Promise<void> {
    if (this.running && this.paused) this.resume();
    await this.kill('SIGKILL');
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
