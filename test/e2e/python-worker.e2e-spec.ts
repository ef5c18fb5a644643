import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { http, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(180_000);

const WORKER = join(__dirname, '..', '..', 'examples', 'python-worker', 'worker.py');

/** examples/python-worker/worker.py as a real process (python3, standard library only). */
class PythonWorker {
  readonly lines: Record<string, unknown>[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(url: string, workerId: string) {
    this.child = spawn('python3', [WORKER], {
      env: {
        PATH: process.env.PATH ?? '',
        TASKQ_URL: url,
        WORKER_ID: workerId,
        QUEUES: 'py',
        CONCURRENCY: '4',
        HEARTBEAT_MS: '300',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const keep = (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  logged(msg: string, taskId?: string): boolean {
    return this.lines.some((line) => line.msg === msg && (taskId === undefined || line.task_id === taskId));
  }

  async stop(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    return this.exited;
  }
}

const TYPES: Record<string, unknown> = {
  'py.upper': {
    queue: 'py',
    payload_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  },
  'py.fail': { queue: 'py', max_retries: 2, backoff: { base_ms: 20, max_ms: 50 }, payload_schema: { type: 'object' } },
  'py.sleep': {
    queue: 'py',
    payload_schema: { type: 'object', properties: { ms: { type: 'integer', minimum: 0 } }, required: ['ms'] },
  },
};

describe('the example Python worker (examples/python-worker) against the built api', () => {
  let stack: Stack;
  const workers: PythonWorker[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop('SIGKILL')));
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
  });

  async function start(): Promise<void> {
    // A short lease, so a killed worker's task comes back within seconds.
    stack = new Stack({ TASK_LEASE_MS: '2000', RECOVERY_INTERVAL_MS: '200' });
    await stack.startApi();
    for (const [name, body] of Object.entries(TYPES)) {
      expect((await http('PUT', `${stack.api.url}/task-types/${name}`, body)).status).toBe(201);
    }
  }

  function worker(id: string): PythonWorker {
    const started = new PythonWorker(stack.api.url, id);
    workers.push(started);
    return started;
  }

  it('runs tasks: every result stored, a failing type retried then dead-lettered, a clean exit on SIGTERM', async () => {
    await start();
    const py = worker('py-a');
    const texts = Array.from({ length: 40 }, (_, i) => `text ${i}`);
    const ids = await stack.submitBatch(texts.map((text) => ({ task_type: 'py.upper', payload: { text } })));
    const failing = await stack.submitOk({ task_type: 'py.fail', payload: {} });

    for (const [i, id] of ids.entries()) {
      const task = await stack.waitForStatus(id, ['succeeded'], 30_000);
      expect(task.result).toEqual({ upper: texts[i].toUpperCase() });
    }
    const dead = await stack.waitForStatus(failing, ['dead'], 30_000);
    expect(dead).toMatchObject({ dead_reason: 'max_retries', attempts: 3, last_error: 'py.fail always fails' });

    const stats = await http('GET', `${stack.api.url}/queues/py`);
    expect(stats.body).toMatchObject({ counts: { queued: 0, active: 0, succeeded: 40, dead: 1 }, unserved: false });
    // The api's recovery marks a queue its HTTP workers claim from as served, as a native worker's does.
    await waitFor(async () => (await http('GET', `${stack.api.url}/queues/py`)).body.last_served_at ?? undefined, {
      timeoutMs: 10_000,
      what: 'queue py to be marked served',
    });
    expect(await py.stop('SIGTERM')).toBe(0);
    expect(py.logged('worker stopped')).toBe(true);
  });

  it('a worker killed mid-task: the api recovers the task and another worker finishes it; a cancel stops a run', async () => {
    await start();
    const first = worker('py-killed');
    const slow = await stack.submitOk({ task_type: 'py.sleep', payload: { ms: 1500 } });
    await waitFor(async () => first.logged('task started', slow) || undefined, {
      timeoutMs: 20_000,
      what: 'the first worker to start the slow task',
    });
    await first.stop('SIGKILL');
    const second = worker('py-second');
    const done = await stack.waitForStatus(slow, ['succeeded'], 30_000);
    expect(done).toMatchObject({ result: { slept_ms: 1500 }, recoveries: 1 });
    expect(done.attempts_history).toEqual([
      expect.objectContaining({ worker: 'py-killed', outcome: 'lease_expired' }),
      expect.objectContaining({ worker: 'py-second' }),
    ]);

    const cancelled = await stack.submitOk({ task_type: 'py.sleep', payload: { ms: 60_000 } });
    await stack.waitForStatus(cancelled, ['active'], 20_000);
    expect((await http('POST', `${stack.api.url}/tasks/${cancelled}/cancel`)).status).toBe(200);
    // Its next heartbeat gets 409 cancelled: true, and the worker drops the run without reporting.
    await waitFor(async () => second.logged('task cancelled', cancelled) || undefined, {
      timeoutMs: 20_000,
      what: 'the worker to stop the cancelled run',
    });
    expect((await stack.task(cancelled)).body).toMatchObject({ status: 'cancelled', result: null });
    expect(second.logged('task succeeded', cancelled)).toBe(false);
  });
});
