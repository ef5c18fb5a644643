import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SubmitTask, TaskqHttpError } from '@app/client';
import { runFake } from '../../test/run-cli';
import { sampleTask } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

const submitted = { task_id: 'cli.1', status: 'queued' as const, queue: 'cli' };

describe('taskq submit TYPE PAYLOAD', () => {
  it('sends the task with its flags and prints its id, status and queue', async () => {
    const run = await runFake(
      [
        'submit',
        'email',
        '{"to":"a@b.c"}',
        '--queue',
        'cli',
        '--priority',
        '-5',
        '--delay',
        '1000',
        '--max-retries',
        '0',
        '--key',
        'k1',
      ],
      { submit: async () => submitted },
    );
    expect(run.code).toBe(EXIT.ok);
    expect(run.fake.argsOf('submit')).toEqual([
      [
        { task_type: 'email', payload: { to: 'a@b.c' }, queue: 'cli', priority: -5, delay_ms: 1000, max_retries: 0 },
        { idempotencyKey: 'k1' },
      ],
    ]);
    expect(run.stdout).toBe('TASK_ID  STATUS  QUEUE\ncli.1    queued  cli\n');
  });

  it('takes a payload that is not JSON as a string, and sends no flag it was not given', async () => {
    const run = await runFake(['submit', 'email', 'a@b.c'], { submit: async () => submitted });
    expect(run.fake.argsOf('submit')).toEqual([
      [{ task_type: 'email', payload: 'a@b.c' }, { idempotencyKey: undefined }],
    ]);
  });

  it.each([
    [['submit', 'echo'], /submit needs TYPE and PAYLOAD/],
    [['submit', 'echo', '1', '--priority', 'high'], /--priority must be an integer/],
    [['submit', 'echo', '1', '--delay', '1.5'], /--delay must be an integer/],
  ])('%p exits 2 before any request', async (argv, message) => {
    const run = await runFake(argv);
    expect([run.code, run.fake.calls]).toEqual([EXIT.usage, []]);
    expect(run.stderr).toMatch(message);
  });

  it('--wait prints the finished task and exits 0 when it succeeded', async () => {
    const task = sampleTask({ task_id: 'cli.1', status: 'succeeded', payload: { n: 1 }, result: { ok: true } });
    const run = await runFake(['submit', 'echo', '{"n":1}', '--wait', '--timeout', '5000'], {
      submit: async () => submitted,
      wait: async () => task,
    });
    expect(run.code).toBe(EXIT.ok);
    expect(run.fake.argsOf('wait')).toEqual([['cli.1', { timeoutMs: 5000 }]]);
    expect(run.stdout).toMatch(/^status\s+succeeded$/m);
    expect(run.stdout).toMatch(/^payload\s+\{"n":1\}$/m);
    expect(run.stdout).toMatch(/^result\s+\{"ok":true\}$/m);
    expect(run.stdout).toMatch(/^dead_reason\s+-$/m);
    expect(run.stderr).toBe('');
  });

  it('--wait exits 1 for a task that died, or that is still waiting when the timeout ends', async () => {
    const dead = await runFake(['submit', 'fail', '{}', '--wait', '--json'], {
      submit: async () => submitted,
      wait: async () => sampleTask({ task_id: 'cli.1', status: 'dead', dead_reason: 'max_retries' }),
    });
    expect([dead.code, dead.stderr, JSON.parse(dead.stdout).status]).toEqual([
      EXIT.failed,
      'taskq: task cli.1 is dead\n',
      'dead',
    ]);
    const waiting = await runFake(['submit', 'echo', '1', '--wait', '--timeout', '300'], {
      submit: async () => submitted,
      wait: async () => sampleTask({ task_id: 'cli.1', status: 'scheduled' }),
    });
    expect([waiting.code, waiting.stderr]).toEqual([
      EXIT.failed,
      'taskq: task cli.1 is still scheduled after 300 ms\n',
    ]);
  });
});

describe('taskq submit --file', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'taskq-submit-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\n')}\n\n`);
    return path;
  };
  const batchAnswer = async (tasks: SubmitTask[]) => ({
    task_ids: tasks.map((t) => `id-${JSON.stringify(t.payload)}`),
    replayed: [],
  });

  it('sends the lines in batches of --batch-size, the flags as defaults a line may override, and sums up', async () => {
    const lines = Array.from({ length: 5 }, (_, i) => JSON.stringify({ task_type: 'echo', payload: i }));
    lines.push(JSON.stringify({ task_type: 'echo', payload: 5, queue: 'other' }));
    const path = file('tasks.jsonl', lines);
    const run = await runFake(['submit', '--file', path, '--queue', 'cli', '--batch-size', '4'], {
      submitMany: batchAnswer,
    });
    expect(run.code).toBe(EXIT.ok);
    const batches = run.fake.argsOf('submitMany').map(([tasks]) => tasks as SubmitTask[]);
    expect(batches.map((tasks) => tasks.length)).toEqual([4, 2]);
    expect(batches[0][0]).toEqual({ task_type: 'echo', payload: 0, queue: 'cli' });
    expect(batches[1][1]).toEqual({ task_type: 'echo', payload: 5, queue: 'other' });
    expect(run.stdout).toBe('submitted 6 tasks in 2 batches\n');
    expect(run.stderr).toBe('');
  });

  it('--json prints the summary with every task id; a terminal gets a progress bar on stderr', async () => {
    const path = file('two.jsonl', ['{"task_type":"echo","payload":1}', '{"task_type":"echo","payload":2}']);
    const replayedOnce = async (tasks: SubmitTask[]) => ({ ...(await batchAnswer(tasks)), replayed: [1] });
    const json = await runFake(['submit', '--file', path, '--json'], { submitMany: replayedOnce });
    expect(JSON.parse(json.stdout)).toEqual({ submitted: 2, replayed: 1, batches: 1, task_ids: ['id-1', 'id-2'] });
    const human = await runFake(
      ['submit', '--file', path, '--batch-size', '1'],
      { submitMany: replayedOnce },
      {
        errIsTty: true,
      },
    );
    expect(human.stdout).toBe(
      'submitted 2 tasks in 2 batches (2 replayed: submitted before with the same idempotency key)\n',
    );
    expect(human.stderr).toContain('] 1/2');
    expect(human.stderr).toMatch(/\] 2\/2\n$/);
  });

  it('names the line that is not JSON or not an object, and sends nothing', async () => {
    const notJson = await runFake(['submit', '--file', file('bad.jsonl', ['{"task_type":"echo"}', '{"task_type": '])]);
    expect([notJson.code, notJson.stderr, notJson.fake.calls]).toEqual([
      EXIT.usage,
      expect.stringMatching(/bad\.jsonl:2: not JSON\n$/),
      [],
    ]);
    const notObject = await runFake(['submit', '--file', file('array.jsonl', ['[1]'])]);
    expect([notObject.code, notObject.stderr]).toEqual([
      EXIT.usage,
      expect.stringMatching(/array\.jsonl:1: a submit body must be a JSON object\n$/),
    ]);
    const missing = await runFake(['submit', '--file', join(dir, 'none.jsonl')]);
    expect([missing.code, missing.stderr]).toEqual([EXIT.usage, expect.stringMatching(/^taskq: cannot read /)]);
  });

  it('refuses TYPE, --wait or --key with --file, and a --batch-size below 1', async () => {
    const path = file('one.jsonl', ['{"task_type":"echo"}']);
    for (const argv of [
      ['submit', 'echo', '--file', path],
      ['submit', '--file', path, '--wait'],
      ['submit', '--file', path, '--key', 'k'],
      ['submit', '--file', path, '--batch-size', '0'],
    ]) {
      const run = await runFake(argv);
      expect([argv, run.code, run.fake.calls]).toEqual([argv, EXIT.usage, []]);
    }
  });

  it('a batch the api refuses ends the run and says how many were submitted before it', async () => {
    const path = file('three.jsonl', ['{"task_type":"echo"}', '{"task_type":"echo"}', '{"task_type":"bad"}']);
    let batch = 0;
    const run = await runFake(['submit', '--file', path, '--batch-size', '2'], {
      submitMany: async (tasks) => {
        if (batch++ === 0) return { task_ids: tasks.map((_, i) => `id-${i}`), replayed: [] };
        throw new TaskqHttpError(
          400,
          { statusCode: 400, error: 'Bad Request', message: 'no' },
          'POST',
          '/submit/batch',
        );
      },
    });
    expect([run.code, run.stdout]).toEqual([EXIT.usage, '']);
    expect(run.stderr).toBe('taskq: 2 of 3 tasks were submitted before this\ntaskq: 400 no\n');
  });
});
