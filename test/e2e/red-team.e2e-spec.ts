import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');

/** Starts a built app with `env` and waits for it to exit (it must: the configuration is bad); its exit code and output. */
function bootFails(
  app: 'api' | 'worker',
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', app, 'main.js')], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'trace', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${app} did not exit on a bad configuration:\n${output}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('metrics listeners bind METRICS_HOST, by default HOST', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack(); // HOST=127.0.0.1
    await stack.startApi();
    await stack.startWorker();
  });
  afterAll(() => stack.stop());

  /** Whether a TCP connection to port on `host` is accepted. */
  const reachable = (host: string, port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });

  it('keeps the api and worker metrics on 127.0.0.1 with HOST=127.0.0.1, and on every address with METRICS_HOST=0.0.0.0', async () => {
    const worker = stack.workers[0];
    expect(await reachable('127.0.0.1', stack.api.metricsPort)).toBe(true);
    expect(await reachable('127.0.0.1', worker.port)).toBe(true);
    // Another address of this machine: a listener on 127.0.0.1 is not there, one on 0.0.0.0 is.
    expect(await reachable('127.0.0.2', stack.api.metricsPort)).toBe(false);
    expect(await reachable('127.0.0.2', worker.port)).toBe(false);
    expect(await reachable('127.0.0.2', stack.api.port)).toBe(false);
    const open = await stack.startWorker({ METRICS_HOST: '0.0.0.0' });
    expect(await reachable('127.0.0.2', open.port)).toBe(true);
  });
});

describe('a malformed URL in the configuration: refused at boot, its password never printed', () => {
  it.each([
    ['api', { REDIS_URL: 'redis://:pw-in-url@127.0.0.1:notaport' }, 'REDIS_URL="redis://***@127.0.0.1:notaport"'],
    ['worker', { REDIS_URL: 'redis://:pw-in-url@127.0.0.1:notaport' }, 'REDIS_URL="redis://***@127.0.0.1:notaport"'],
    ['api', { REDIS_URL: 'redis://:pw-in-url' }, 'REDIS_URL="redis://***"'],
    [
      'worker',
      { RESULTS_BACKEND: 'postgres', DATABASE_URL: 'postgres:taskq:pw-in-url@db/taskq' },
      'DATABASE_URL="***@db/taskq"',
    ],
  ] as const)('%s with %j', async (app, env, shown) => {
    const ports = { PORT: String(await freePort()), METRICS_PORT: String(await freePort()) };
    const { code, output } = await bootFails(app, { HOST: '127.0.0.1', AUTH_MODE: 'none', ...ports, ...env });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain(shown);
    expect(output).not.toContain('pw-in-url');
  });
});
