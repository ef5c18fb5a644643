import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(300_000);

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'nest-worker');

/**
 * The worker as a package: `npm run pack:worker` makes the tarball, and examples/nest-worker (a Nest application
 * of its own, outside this repo's build and paths) installs it from npm's view, builds with its own tsc and runs
 * its own task types against the built api.
 */
describe('@taskq/worker, packed and installed by a separate Nest application (examples/nest-worker)', () => {
  let dir: string;
  let tarball: string;
  let stack: Stack | undefined;
  let app: ChildProcess | undefined;
  const output: string[] = [];

  beforeAll(() => {
    tarball = execFileSync(process.execPath, [join(ROOT, 'scripts', 'pack.js')], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    dir = mkdtempSync(join(tmpdir(), 'taskq-nest-worker-'));
    cpSync(EXAMPLE, dir, { recursive: true, filter: (source) => !/[/\\](node_modules|dist)$/.test(source) });
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    manifest.dependencies['@taskq/worker'] = `file:${tarball}`;
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    const npm = (args: string[]) =>
      execFileSync('npm', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
    npm(['install', '--no-audit', '--no-fund', '--no-package-lock']);
    npm(['run', 'build']);
  });

  afterAll(async () => {
    app?.kill('SIGKILL');
    if (stack) {
      expect(await stack.invariantAll()).toEqual([]);
      await stack.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('packs an installable tarball: entry, types, Lua scripts, pinned dependencies and Nest as peers', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/README.md',
        'package/build/libs/worker/src/index.js',
        'package/build/libs/worker/src/index.d.ts',
        'package/build/libs/worker/src/threads/thread-entry.js',
        'package/build/libs/queue/src/scripts/lua/_prelude.lua',
        'package/build/libs/queue/src/scripts/lua/claimTasks-9.lua',
      ]),
    );
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules', '@taskq', 'worker', 'package.json'), 'utf8'));
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(installed).toMatchObject({ name: '@taskq/worker', version: root.version, main: expect.any(String) });
    expect(Object.keys(installed.peerDependencies)).toEqual(
      expect.arrayContaining(['@nestjs/common', '@nestjs/core', 'ioredis', 'class-validator']),
    );
    for (const [name, version] of Object.entries<string>(installed.dependencies)) {
      expect({ name, version }).toEqual({ name, version: root.dependencies[name] ?? root.devDependencies[name] });
    }
  });

  it("runs the application's own task types from tasks submitted through the api, and submits through it too", async () => {
    stack = new Stack();
    await stack.startApi();
    for (const type of ['example.shout', 'example.shout_many']) {
      const put = await http('PUT', `${stack.api.url}/task-types/${type}`, {
        queue: 'example',
        payload_schema: { type: 'object' },
      });
      expect(put.status).toBe(201);
    }
    app = spawn(process.execPath, [join(dir, 'dist', 'main.js')], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: stack.baseEnv.REDIS_URL,
        QUEUE_PREFIX: stack.prefix,
        TASKQ_URL: stack.api.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    app.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await waitFor(async () => output.join('').includes('example worker started') || undefined, {
      timeoutMs: 30_000,
      what: `the example application to start:\n${output.join('')}`,
    });

    const texts = Array.from({ length: 20 }, (_, i) => `hello ${i}`);
    const ids = await stack.submitBatch(texts.map((text) => ({ task_type: 'example.shout', payload: { text } })));
    for (const [i, id] of ids.entries()) {
      const task = await stack.waitForStatus(id, ['succeeded'], 30_000);
      expect(task.result).toEqual({ shouted: `${texts[i].toUpperCase()}!`, attempt: 1 });
    }
    // Its own rules: NonRetryableError is dead at once; its contract (class-validator) refuses what the api let by.
    const empty = await stack.submitOk({ task_type: 'example.shout', payload: { text: ' ' } });
    expect(await stack.waitForStatus(empty, ['dead'])).toMatchObject({ dead_reason: 'non_retryable' });
    const invalid = await stack.submitOk({ task_type: 'example.shout', payload: { text: 5 } });
    expect(await stack.waitForStatus(invalid, ['dead'])).toMatchObject({ dead_reason: 'invalid_payload' });

    // TaskqClientModule: a handler submits through the api.
    const many = await stack.submitOk({ task_type: 'example.shout_many', payload: { text: 'again', times: 5 } });
    const parent = await stack.waitForStatus(many, ['succeeded'], 30_000);
    expect(parent.result.task_ids).toHaveLength(5);
    for (const id of parent.result.task_ids as string[]) {
      expect((await stack.waitForStatus(id, ['succeeded'], 30_000)).result.shouted).toMatch(/^AGAIN \d!$/);
    }

    const workers = await http('GET', `${stack.api.url}/workers`);
    expect(workers.body.workers).toContainEqual(
      expect.objectContaining({ kind: 'native', queues: ['example'], concurrency: 8 }),
    );
  });
});
