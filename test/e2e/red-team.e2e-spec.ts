import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@app/testing';

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
