import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from './harness';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'taskq.js');
const newKey = () => `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A port nothing listens on: taken from the OS, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * The `taskq` CLI (bin/taskq.js, running the built dist/apps/cli) against the built api and worker with API keys
 * on: as a child process with only TASKQ_URL and TASKQ_API_KEY in its environment; outputs and exit codes checked.
 */
describe('taskq CLI against the real apps (AUTH_MODE=api-key)', () => {
  const admin = newKey();
  let stack: Stack;
  let dir: string;

  /** `taskq ...args` with TASKQ_URL and TASKQ_API_KEY (the admin key unless `apiKey` says otherwise). */
  function taskq(args: string[], options: { apiKey?: string; url?: string } = {}): Promise<CliRun> {
    const env = {
      PATH: process.env.PATH ?? '',
      TASKQ_URL: options.url ?? stack.api.url,
      TASKQ_API_KEY: options.apiKey ?? admin,
    };
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }
  const json = (run: CliRun) => {
    if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr}`);
    return JSON.parse(run.stdout);
  };

  beforeAll(async () => {
    stack = new Stack({ AUTH_MODE: 'api-key', BOOTSTRAP_ADMIN_KEY: admin });
    await stack.startApi();
    await stack.startWorker({ WORKER_QUEUES: 'cli,cli-dead' });
    dir = mkdtempSync(join(tmpdir(), 'taskq-cli-'));
  });
  afterAll(async () => {
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help on every command exits 0; usage errors exit 2 before any request', async () => {
    const help = await taskq(['--help']);
    expect(help.code).toBe(0);
    for (const command of [
      'submit',
      'get',
      'ls',
      'cancel',
      'retry',
      'dlq',
      'queues',
      'pause',
      'resume',
      'purge',
      'schedules',
      'types',
      'keys',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(help.stdout).toContain('4 api unreachable');
    for (const command of [['submit'], ['dlq', 'purge'], ['schedules', 'add'], ['keys', 'create']]) {
      const run = await taskq([...command, '--help']);
      expect([command, run.code, run.stdout]).toEqual([
        command,
        0,
        expect.stringContaining(`Usage: taskq ${command.join(' ')}`),
      ]);
    }
    // Nowhere to send these: a closed port would make them exit 4 if they tried.
    const url = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [
      ['bogus'],
      ['submit', 'echo'],
      ['submit', 'echo', '1', '--priority', 'high'],
      ['ls', '--status', 'nope'],
      ['schedules', 'add', 'x', '--type', 'echo'],
      ['get'],
      ['purge', 'cli', '--status', 'active', '--yes'],
    ]) {
      const run = await taskq(args, { url });
      expect([args, run.code]).toEqual([args, 2]);
      expect(run.stderr).not.toBe('');
    }
  });

  it('submit --wait prints the finished task and exits 0, or 1 for a task that died; get --wait the same', async () => {
    const ok = await taskq(['submit', 'echo', '{"n":1}', '--queue', 'cli', '--wait']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^status\s+succeeded$/m);
    expect(ok.stdout).toMatch(/^payload\s+\{"n":1\}$/m);

    const asJson = json(await taskq(['submit', 'echo', 'plain text', '--queue', 'cli', '--wait', '--json']));
    expect(asJson).toMatchObject({ status: 'succeeded', payload: 'plain text', queue: 'cli' });
    expect(json(await taskq(['get', asJson.task_id, '--json']))).toMatchObject({ task_id: asJson.task_id });

    const failed = await taskq(['submit', 'fail', '{}', '--queue', 'cli', '--max-retries', '0', '--wait']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^status\s+dead$/m);
    expect(failed.stderr).toMatch(/is dead/);

    const queued = await taskq(['submit', 'echo', '2', '--queue', 'cli', '--delay', '600000']);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(/^TASK_ID\s+STATUS\s+QUEUE\n\S+\s+scheduled\s+cli\n$/);
    const id = queued.stdout.split('\n')[1].split(/\s+/)[0];
    const timedOut = await taskq(['get', id, '--wait', '--timeout', '300']);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/still scheduled after 300 ms/);
    expect(await taskq(['cancel', id])).toMatchObject({ code: 0, stdout: `cancelled ${id}\n` });
    const again = await taskq(['cancel', id]);
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/^taskq: 409 .*cancelled already/)]);
  });

  it('exits 3 for what does not exist and 4 when nothing answers', async () => {
    for (const args of [
      ['get', 'cli.00000000-0000-0000-0000-000000000000'],
      ['cancel', 'cli.00000000-0000-0000-0000-000000000000'],
      ['dlq', 'requeue', 'cli.00000000-0000-0000-0000-000000000000'],
      ['schedules', 'rm', 'no-such-schedule'],
    ]) {
      const run = await taskq(args);
      expect([args, run.code, run.stderr]).toEqual([args, 3, expect.stringMatching(/^taskq: 404 /)]);
    }
    const down = await taskq(['queues'], { url: `http://127.0.0.1:${await closedPort()}` });
    expect([down.code, down.stderr]).toEqual([4, expect.stringMatching(/^taskq: taskq api unreachable at/)]);
  });

  it('submit --file sends a JSONL file in batches and sums up; a bad line exits 2 naming it', async () => {
    const file = join(dir, 'tasks.jsonl');
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ task_type: 'echo', payload: i }));
    writeFileSync(file, `${lines.join('\n')}\n\n`);
    const human = await taskq(['submit', '--file', file, '--queue', 'cli-file', '--batch-size', '10']);
    expect(human).toMatchObject({ code: 0, stdout: 'submitted 25 tasks in 3 batches\n' });
    const summary = json(await taskq(['submit', '--file', file, '--queue', 'cli-file', '--json']));
    expect(summary).toMatchObject({ submitted: 25, replayed: 0, batches: 1 });
    expect(new Set(summary.task_ids).size).toBe(25);

    const listed = json(await taskq(['ls', '--status', 'queued', '--queue', 'cli-file', '--all', '--json']));
    expect(listed).toHaveLength(50);
    const firstTen = await taskq(['ls', '--status', 'queued', '--queue', 'cli-file', '--limit', '10']);
    expect(firstTen.code).toBe(0);
    const rows = firstTen.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^TASK_ID\s+TYPE\s+QUEUE\s+STATUS\s+PRIORITY\s+ATTEMPTS\s+CREATED_AT\s+FINISHED_AT$/);
    expect(rows.slice(1)).toHaveLength(10);
    expect(rows[1]).toMatch(/^cli-file\.\S+\s+echo\s+cli-file\s+queued\s+0\s+0\s+\S+\s+-$/);

    writeFileSync(join(dir, 'bad.jsonl'), `${lines[0]}\n{"task_type": \n`);
    const bad = await taskq(['submit', '--file', join(dir, 'bad.jsonl')]);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('bad.jsonl:2: not JSON')]);
    const refused = await taskq(['submit', 'echo', '1', '--priority', '1000']);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringMatching(/400[\s\S]*priority/)]);
  });

  it('dlq ls, requeue, rm and purge; queues, pause and resume', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await taskq([
        'submit',
        'fail',
        '{}',
        '--queue',
        'cli-dead',
        '--max-retries',
        '0',
        '--wait',
        '--json',
      ]);
      expect(run.code).toBe(1);
      ids.push(JSON.parse(run.stdout).task_id);
    }
    const dead = json(await taskq(['dlq', 'ls', '--queue', 'cli-dead', '--json']));
    expect(dead.map((t: { task_id: string }) => t.task_id).sort()).toEqual([...ids].sort());
    const table = await taskq(['dlq', 'ls', '--queue', 'cli-dead']);
    expect(table.stdout).toMatch(/^TASK_ID\s+TYPE\s+QUEUE\s+DEAD_REASON/);
    expect(table.stdout).toContain('max_retries');

    expect(await taskq(['dlq', 'requeue', ids[0]])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`requeued ${ids[0]}`),
    });
    // The fail task fails again: back in the dead-letter queue.
    expect((await taskq(['get', ids[0], '--wait'])).code).toBe(1);
    expect(await taskq(['dlq', 'rm', ids[1]])).toMatchObject({ code: 0, stdout: `deleted ${ids[1]}\n` });
    expect((await taskq(['get', ids[1]])).code).toBe(3);
    expect(await taskq(['dlq', 'purge', 'cli-dead'])).toMatchObject({
      code: 0,
      stdout: 'deleted 2 dead tasks of cli-dead\n',
    });

    expect(await taskq(['pause', 'cli'])).toMatchObject({ code: 0, stdout: 'cli paused\n' });
    const paused = await taskq(['submit', 'echo', '"held"', '--queue', 'cli']);
    const heldId = paused.stdout.split('\n')[1].split(/\s+/)[0];
    const queues = json(await taskq(['queues', '--json']));
    expect(queues.find((q: { queue: string }) => q.queue === 'cli')).toMatchObject({
      paused: true,
      counts: { queued: 1 },
    });
    const human = await taskq(['queues']);
    expect(human.stdout).toMatch(
      /^QUEUE\s+PAUSED\s+SCHEDULED\s+QUEUED\s+ACTIVE\s+RETRYING\s+SUCCEEDED\s+DEAD\s+CANCELLED\s+LIMITS$/m,
    );
    expect(human.stdout).toMatch(/^cli\s+yes\s+\d+\s+1\s+/m);
    expect(await taskq(['resume', 'cli'])).toMatchObject({ code: 0, stdout: 'cli resumed\n' });
    expect((await taskq(['get', heldId, '--wait'])).code).toBe(0);
  });

  it('retry runs a finished task again; purge drops waiting tasks only with --yes', async () => {
    const done = json(await taskq(['submit', 'echo', '"again"', '--queue', 'cli', '--wait', '--json']));
    expect(await taskq(['retry', done.task_id])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(new RegExp(`^retried ${done.task_id} \\((queued|active|succeeded)\\)\n$`)),
    });
    const again = json(await taskq(['get', done.task_id, '--wait', '--json']));
    expect(again.attempts_history.map((a: { outcome: string }) => a.outcome)).toEqual(['succeeded', 'succeeded']);
    expect((await taskq(['retry', 'cli.00000000-0000-0000-0000-000000000000'])).code).toBe(3);

    const later = [1, 2].map((n) => ['submit', 'echo', String(n), '--queue', 'cli', '--delay', '600000']);
    for (const args of later) expect((await taskq(args)).code).toBe(0);
    const asked = await taskq(['purge', 'cli', '--status', 'scheduled']);
    expect(asked).toMatchObject({
      code: 2,
      stderr: 'taskq: this deletes the 2 scheduled task(s) of cli for good; run again with --yes to purge them\n',
    });
    expect(await taskq(['purge', 'cli', '--status', 'scheduled', '--yes'])).toMatchObject({
      code: 0,
      stdout: 'purged 2 scheduled task(s) of cli\n',
    });
    expect(
      json(await taskq(['queues', '--json'])).find((q: { queue: string }) => q.queue === 'cli').counts,
    ).toMatchObject({
      scheduled: 0,
    });
  });

  it('schedules add, ls and rm; keys create and revoke, and a narrow key is refused', async () => {
    const added = await taskq([
      'schedules',
      'add',
      'cli-hourly',
      '--every',
      '3600000',
      '--type',
      'echo',
      '--payload',
      '{"x":1}',
      '--queue',
      'cli',
    ]);
    expect(added).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^created cli-hourly \(cli~\S+\), next run \S+Z\n$/),
    });
    const listed = await taskq(['schedules', 'ls']);
    expect(listed.stdout).toMatch(/^cli-hourly\s+3600000 ms\s+echo\s+cli\s+yes\s+\S+/m);
    expect(json(await taskq(['schedules', 'ls', '--json']))).toEqual([
      expect.objectContaining({ name: 'cli-hourly', every_ms: 3_600_000 }),
    ]);
    expect((await taskq(['schedules', 'add', 'cli-hourly', '--every', '3600000', '--type', 'echo'])).code).toBe(1);
    const badCron = await taskq(['schedules', 'add', 'cli-bad', '--cron', 'not a cron', '--type', 'echo']);
    expect([badCron.code, badCron.stderr]).toEqual([2, expect.stringContaining('cron')]);
    expect(await taskq(['schedules', 'rm', 'cli-hourly'])).toMatchObject({ code: 0, stdout: 'deleted cli-hourly\n' });

    const created = await taskq(['keys', 'create', '--name', 'cli-reader', '--scopes', 'read', '--queues', 'cli']);
    expect(created.code).toBe(0);
    const reader = created.stdout.trim();
    expect(reader).toMatch(/^tq_[0-9a-f]{12}_[0-9a-f]{64}$/);
    const id = reader.split('_')[1];
    expect((await taskq(['keys', 'ls'])).stdout).toMatch(
      new RegExp(`^${id}\\s+cli-reader\\s+read\\s+cli\\s+default\\s+default\\s`, 'm'),
    );
    const limited = await taskq(['keys', 'set-limits', id, '--rate', '500/1s', '--quota-tasks', '1000000/1h']);
    expect(limited).toMatchObject({ code: 0, stdout: `${id} (cli-reader): rate 500/1s, quota 1000000 tasks/1h\n` });
    const badLimit = await taskq(['keys', 'set-limits', id, '--rate', '0/1s']);
    expect([badLimit.code, badLimit.stderr]).toEqual([2, expect.stringContaining('rate_limit.max')]);
    expect(json(await taskq(['queues', '--json'], { apiKey: reader })).map((q: { queue: string }) => q.queue)).toEqual([
      'cli',
    ]);
    const refused = await taskq(['submit', 'echo', '1', '--queue', 'cli'], { apiKey: reader });
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/^taskq: 403 /)]);
    expect(await taskq(['keys', 'revoke', id])).toMatchObject({ code: 0, stdout: `revoked ${id}\n` });
    const revoked = await taskq(['queues'], { apiKey: reader });
    expect([revoked.code, revoked.stderr]).toEqual([1, expect.stringMatching(/^taskq: 401 /)]);
    const anonymous = await taskq(['queues'], { apiKey: '' });
    expect([anonymous.code, anonymous.stderr]).toEqual([1, expect.stringMatching(/^taskq: 401 /)]);
  });

  it('types put, ls, show and rm: a task type defined at run time, submitted through the CLI', async () => {
    const schema = '{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}';
    const put = await taskq([
      'types',
      'put',
      'cli.upper',
      '--schema',
      schema,
      '--queue',
      'cli-py',
      '--max-retries',
      '1',
    ]);
    expect(put).toMatchObject({ code: 0, stdout: 'defined cli.upper (queue cli-py)\n' });
    const listed = await taskq(['types', 'ls']);
    expect(listed.stdout).toMatch(/^email\s+code\s+default\s+5\s+/m);
    expect(listed.stdout).toMatch(/^cli\.upper\s+runtime\s+cli-py\s+1\s+/m);
    expect(json(await taskq(['types', 'show', 'cli.upper', '--json']))).toMatchObject({
      source: 'runtime',
      payload_schema: JSON.parse(schema),
    });
    const submitted = await taskq(['submit', 'cli.upper', '{"text":"a"}', '--json']);
    expect([submitted.code, json(submitted).queue]).toEqual([0, 'cli-py']);
    const refused = await taskq(['submit', 'cli.upper', '{}']);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('payload.text')]);
    const badSchema = await taskq(['types', 'put', 'cli.bad', '--schema', '{"$ref":"https://example.com/s.json"}']);
    expect([badSchema.code, badSchema.stderr]).toEqual([2, expect.stringContaining('payload_schema.$ref')]);
    expect(await taskq(['types', 'rm', 'cli.upper'])).toMatchObject({ code: 0, stdout: 'deleted cli.upper\n' });
    expect((await taskq(['types', 'rm', 'cli.upper'])).code).toBe(3);
  });
});
