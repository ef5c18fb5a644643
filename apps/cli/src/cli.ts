import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  ApiKey,
  DeadTaskSummary,
  isFinished,
  SubmitTask,
  Task,
  TaskqClient,
  TaskqHttpError,
  TaskqUnreachableError,
  TaskQuery,
  TaskStatus,
  TaskSummary,
} from '@app/client';
import { CliIo, progressBar, record, table } from './output';

/** Exit codes scripts can trust. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, unreachable: 4 } as const;

export const DEFAULT_URL = 'http://127.0.0.1:8080';
const STATUSES: TaskStatus[] = ['scheduled', 'queued', 'active', 'retrying', 'succeeded', 'dead', 'cancelled'];
const DEFAULT_WAIT_MS = 600_000;
const DEFAULT_BATCH_SIZE = 500;

/** Ends the command with this exit code and message (stderr). */
class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const integer = (name: string) => (value: string) => {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
  return Number(value);
};

/** A payload argument: JSON when it parses as JSON, else the text itself (`taskq submit email a@b.c`). */
function payloadOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const list = (value: string) => value.split(',').filter(Boolean);

interface Globals {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

/**
 * `taskq ...`: the CLI over TaskqClient. Returns the exit code; writes through `io` only, so it runs the same in
 * the built bin and in tests.
 */
export async function runCli(argv: string[], io: CliIo, env: Record<string, string | undefined>): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('taskq')
    .description('Drive a taskq api from a shell: submit, inspect, cancel, requeue, pause, schedule.')
    .option('--url <url>', `the api (default: env TASKQ_URL, else ${DEFAULT_URL})`)
    // No commander default: --help would print the key.
    .option('--api-key <key>', 'an API key or JWT (default: env TASKQ_API_KEY)')
    .option('--json', 'print JSON instead of tables')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 a task that failed (--wait) or another error, 2 usage or input the api refused (400),\n' +
        '3 not found, 4 api unreachable.',
    );

  const globals = (command: Command) => command.optsWithGlobals<Globals>();
  const clientOf = (command: Command) => {
    const { url, apiKey } = globals(command);
    return new TaskqClient({
      baseUrl: url || env.TASKQ_URL || DEFAULT_URL,
      apiKey: apiKey || env.TASKQ_API_KEY || undefined,
    });
  };
  const print = (command: Command, json: unknown, human: () => string) =>
    io.out(globals(command).json ? `${JSON.stringify(json, null, 2)}\n` : human());
  const showTask = (command: Command, task: Task) =>
    print(command, task, () =>
      record([
        ['task_id', task.task_id],
        ['task_type', task.task_type],
        ['queue', task.queue],
        ['status', task.status],
        ['priority', task.priority],
        ['attempts', `${task.attempts} (max retries ${task.max_retries})`],
        ['created_at', task.created_at],
        ['started_at', task.started_at],
        ['finished_at', task.finished_at],
        ['dead_reason', task.dead_reason],
        ['last_error', task.last_error],
        ['schedule_id', task.schedule_id],
        ['payload', task.payload],
        ['result', task.result],
      ]),
    );
  /** --wait: the task once finished; exit 1 unless it succeeded. */
  const waitAndShow = async (command: Command, client: TaskqClient, id: string, timeoutMs: number) => {
    const task = await client.wait(id, { timeoutMs });
    showTask(command, task);
    if (task.status !== 'succeeded') {
      code = EXIT.failed;
      io.err(
        isFinished(task)
          ? `taskq: task ${id} is ${task.status}\n`
          : `taskq: task ${id} is still ${task.status} after ${timeoutMs} ms\n`,
      );
    }
  };

  program
    .command('submit')
    .description('submit a task (TYPE PAYLOAD), or every line of a JSONL file of submit bodies (--file)')
    .argument('[type]', 'the task type')
    .argument('[payload]', 'JSON, or any other text as a string', undefined)
    .option('--file <path>', 'a JSONL file, one submit body per line; sent in batches')
    .option('--queue <queue>', 'the queue (default: default)')
    .option('--priority <n>', '-100..100, higher first', integer('--priority'))
    .option('--delay <ms>', 'run after this many ms', integer('--delay'))
    .option('--max-retries <n>', 'retries after the first run', integer('--max-retries'))
    .option('--key <key>', 'an idempotency key (one is made otherwise, so a retried submit never doubles a task)')
    .option('--wait', 'wait until the task finishes and print it; exit 1 unless it succeeded')
    .option('--timeout <ms>', 'how long --wait waits', integer('--timeout'), DEFAULT_WAIT_MS)
    .option('--batch-size <n>', 'tasks per request with --file', integer('--batch-size'), DEFAULT_BATCH_SIZE)
    .action(async (type: string | undefined, payload: string | undefined, options, command: Command) => {
      const defaults: Partial<SubmitTask> = {
        ...(options.queue !== undefined && { queue: options.queue }),
        ...(options.priority !== undefined && { priority: options.priority }),
        ...(options.delay !== undefined && { delay_ms: options.delay }),
        ...(options.maxRetries !== undefined && { max_retries: options.maxRetries }),
      };
      const client = clientOf(command);
      if (options.file) {
        if (type !== undefined || options.wait || options.key) {
          throw new CliExit(EXIT.usage, 'submit --file takes no TYPE, PAYLOAD, --wait or --key');
        }
        await submitFile(command, client, options.file, defaults, options.batchSize);
        return;
      }
      if (type === undefined || payload === undefined) {
        throw new CliExit(EXIT.usage, 'submit needs TYPE and PAYLOAD (or --file)');
      }
      const submitted = await client.submit(
        { task_type: type, payload: payloadOf(payload), ...defaults },
        { idempotencyKey: options.key },
      );
      if (options.wait) return waitAndShow(command, client, submitted.task_id, options.timeout);
      print(command, submitted, () =>
        table(['task_id', 'status', 'queue'], [[submitted.task_id, submitted.status, submitted.queue]]),
      );
    });

  async function submitFile(
    command: Command,
    client: TaskqClient,
    path: string,
    defaults: Partial<SubmitTask>,
    batchSize: number,
  ) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new CliExit(EXIT.usage, `cannot read ${path}: ${(error as Error).message}`);
    }
    const tasks: SubmitTask[] = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      let body: unknown;
      try {
        body = JSON.parse(line);
      } catch {
        throw new CliExit(EXIT.usage, `${path}:${i + 1}: not JSON`);
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new CliExit(EXIT.usage, `${path}:${i + 1}: a submit body must be a JSON object`);
      }
      tasks.push({ ...defaults, ...(body as SubmitTask) });
    }
    if (batchSize < 1) throw new CliExit(EXIT.usage, '--batch-size must be at least 1');
    const taskIds: string[] = [];
    let replayed = 0;
    let batches = 0;
    const progress = io.errIsTty && !globals(command).json;
    for (let start = 0; start < tasks.length; start += batchSize) {
      const answer = await client.submitMany(tasks.slice(start, start + batchSize)).catch((error: unknown) => {
        if (progress) io.err('\n');
        if (taskIds.length) io.err(`taskq: ${taskIds.length} of ${tasks.length} tasks were submitted before this\n`);
        throw error;
      });
      taskIds.push(...answer.task_ids);
      replayed += answer.replayed.length;
      batches++;
      if (progress) io.err(progressBar(taskIds.length, tasks.length));
    }
    if (progress) io.err('\n');
    const summary = { submitted: taskIds.length, replayed, batches, task_ids: taskIds };
    print(
      command,
      summary,
      () =>
        `submitted ${taskIds.length} tasks in ${batches} ${batches === 1 ? 'batch' : 'batches'}` +
        `${replayed ? ` (${replayed} replayed: submitted before with the same idempotency key)` : ''}\n`,
    );
  }

  program
    .command('get')
    .description('show a task: status, payload, result, error')
    .argument('<id>', 'the task id')
    .option('--wait', 'wait until the task finishes; exit 1 unless it succeeded')
    .option('--timeout <ms>', 'how long --wait waits', integer('--timeout'), DEFAULT_WAIT_MS)
    .action(async (id: string, options, command: Command) => {
      const client = clientOf(command);
      if (options.wait) return waitAndShow(command, client, id, options.timeout);
      showTask(command, await client.get(id));
    });

  program
    .command('ls')
    .description('list tasks in one state (newest first for finished states, run order for waiting ones)')
    .option('--status <status>', STATUSES.join('|'))
    .option('--queue <queue>', 'one queue (default: every queue the key may see)')
    .option('--type <task_type>', 'one task type')
    .option('--limit <n>', 'show at most this many', integer('--limit'), 50)
    .option('--all', 'show every one (page after page)')
    .action(async (options, command: Command) => {
      if (options.status !== undefined && !STATUSES.includes(options.status)) {
        throw new CliExit(EXIT.usage, `--status must be one of ${STATUSES.join(', ')}`);
      }
      const query: TaskQuery = {
        ...(options.status && { status: options.status }),
        ...(options.queue && { queue: options.queue }),
        ...(options.type && { task_type: options.type }),
        limit: options.all ? 500 : Math.min(Math.max(options.limit, 1), 500),
      };
      const tasks: TaskSummary[] = [];
      for await (const task of clientOf(command).list(query)) {
        if (!options.all && tasks.length >= options.limit) break;
        tasks.push(task);
      }
      print(command, tasks, () =>
        table(
          ['task_id', 'type', 'queue', 'status', 'priority', 'attempts', 'created_at', 'finished_at'],
          tasks.map((t) => [
            t.task_id,
            t.task_type,
            t.queue,
            t.status,
            t.priority,
            t.attempts,
            t.created_at,
            t.finished_at,
          ]),
        ),
      );
    });

  program
    .command('cancel')
    .description('cancel a task that has not finished (a running one is aborted)')
    .argument('<id>', 'the task id')
    .action(async (id: string, _options, command: Command) => {
      const task = await clientOf(command).cancel(id);
      print(command, task, () => `cancelled ${task.task_id}\n`);
    });

  const dlq = program.command('dlq').description('the dead-letter queue: ls, requeue, rm, purge');
  dlq
    .command('ls')
    .description('dead tasks, newest death first')
    .option('--queue <queue>', 'one queue (default: every queue the key may see)')
    .option('--limit <n>', 'show at most this many', integer('--limit'), 50)
    .action(async (options, command: Command) => {
      const tasks: DeadTaskSummary[] = [];
      const pageSize = Math.min(Math.max(options.limit, 1), 500);
      for await (const task of clientOf(command).dead({
        ...(options.queue && { queue: options.queue }),
        limit: pageSize,
      })) {
        if (tasks.length >= options.limit) break;
        tasks.push(task);
      }
      print(command, tasks, () =>
        table(
          ['task_id', 'type', 'queue', 'dead_reason', 'attempts', 'finished_at', 'last_error'],
          tasks.map((t) => [
            t.task_id,
            t.task_type,
            t.queue,
            t.dead_reason,
            t.attempts,
            t.finished_at,
            t.last_error?.split('\n')[0].slice(0, 60),
          ]),
        ),
      );
    });
  dlq
    .command('requeue')
    .description('put dead tasks back in their queue, attempts reset')
    .argument('<ids...>', 'task ids')
    .action(async (ids: string[], _options, command: Command) => {
      const client = clientOf(command);
      const tasks: Task[] = [];
      for (const id of ids) tasks.push(await client.requeueDead(id));
      print(command, tasks, () => tasks.map((t) => `requeued ${t.task_id} (${t.status})\n`).join(''));
    });
  dlq
    .command('rm')
    .description('delete dead tasks')
    .argument('<ids...>', 'task ids')
    .action(async (ids: string[], _options, command: Command) => {
      const client = clientOf(command);
      for (const id of ids) await client.deleteDead(id);
      print(command, { deleted: ids }, () => ids.map((id) => `deleted ${id}\n`).join(''));
    });
  dlq
    .command('purge')
    .description('delete every dead task of a queue')
    .argument('<queue>', 'the queue')
    .action(async (queue: string, _options, command: Command) => {
      const deleted = await clientOf(command).purgeDead(queue);
      print(command, { deleted }, () => `deleted ${deleted} dead tasks of ${queue}\n`);
    });

  program
    .command('queues')
    .description('every queue: counts by state, paused, limits')
    .action(async (_options, command: Command) => {
      const queues = await clientOf(command).queues();
      print(command, queues, () =>
        table(
          ['queue', 'paused', ...STATUSES, 'limits'],
          queues.map((q) => [
            q.queue,
            q.paused ? 'yes' : 'no',
            ...STATUSES.map((s) => q.counts[s]),
            [
              q.limits.rate ? `${q.limits.rate.max}/${q.limits.rate.per_ms}ms` : '',
              q.limits.concurrency !== null ? `concurrency ${q.limits.concurrency}` : '',
            ]
              .filter(Boolean)
              .join(', '),
          ]),
        ),
      );
    });

  for (const [name, verb] of [
    ['pause', 'workers stop claiming from a queue (in-flight tasks finish; submits are accepted)'],
    ['resume', 'workers claim from a paused queue again'],
  ] as const) {
    program
      .command(name)
      .description(verb)
      .argument('<queue>', 'the queue')
      .action(async (queue: string, _options, command: Command) => {
        const client = clientOf(command);
        const stats = name === 'pause' ? await client.pause(queue) : await client.resume(queue);
        print(command, stats, () => `${stats.queue} ${stats.paused ? 'paused' : 'resumed'}\n`);
      });
  }

  program
    .command('workers')
    .description('live workers, from their heartbeats')
    .action(async (_options, command: Command) => {
      const workers = await clientOf(command).workers();
      print(command, workers, () =>
        table(
          ['worker_id', 'queues', 'concurrency', 'in_flight', 'last_seen'],
          workers.map((w) => [w.worker_id, w.queues.join(','), w.concurrency, w.in_flight, w.last_seen]),
        ),
      );
    });

  const schedules = program.command('schedules').description('cron and interval schedules: ls, add, rm');
  schedules
    .command('ls')
    .description('every schedule, by name')
    .action(async (_options, command: Command) => {
      const all = await clientOf(command).schedules();
      print(command, all, () =>
        table(
          ['name', 'every', 'task_type', 'queue', 'enabled', 'next_run_at', 'last_task_status'],
          all.map((s) => [
            s.name,
            s.cron ? `${s.cron}${s.tz ? ` (${s.tz})` : ''}` : `${s.every_ms} ms`,
            s.task.task_type,
            s.task.queue,
            s.enabled ? 'yes' : 'no',
            s.next_run_at,
            s.last_task_status,
          ]),
        ),
      );
    });
  schedules
    .command('add')
    .description('create a schedule: --cron or --every, and the task it submits')
    .argument('<name>', 'a unique name')
    .requiredOption('--type <task_type>', 'the task type it submits')
    .option('--payload <payload>', 'JSON, or any other text as a string', 'null')
    .option('--cron <expression>', 'a cron expression (5 fields, or 6 with seconds first)')
    .option('--every <ms>', 'a fixed interval in ms (at least 1000)', integer('--every'))
    .option('--tz <zone>', 'the IANA time zone --cron is read in')
    .option('--queue <queue>', 'the queue its tasks go to')
    .option('--priority <n>', 'its tasks priority', integer('--priority'))
    .option('--disabled', 'create it disabled')
    .action(async (name: string, options, command: Command) => {
      if ((options.cron === undefined) === (options.every === undefined)) {
        throw new CliExit(EXIT.usage, 'schedules add needs exactly one of --cron and --every');
      }
      const schedule = await clientOf(command).createSchedule({
        name,
        ...(options.cron !== undefined && { cron: options.cron }),
        ...(options.every !== undefined && { every_ms: options.every }),
        ...(options.tz !== undefined && { tz: options.tz }),
        ...(options.disabled && { enabled: false }),
        task: {
          task_type: options.type,
          payload: payloadOf(options.payload),
          ...(options.queue !== undefined && { queue: options.queue }),
          ...(options.priority !== undefined && { priority: options.priority }),
        },
      });
      print(
        command,
        schedule,
        () => `created ${schedule.name} (${schedule.schedule_id}), next run ${schedule.next_run_at}\n`,
      );
    });
  schedules
    .command('rm')
    .description('delete a schedule (the tasks it made stay)')
    .argument('<schedule>', 'its name or schedule_id')
    .action(async (schedule: string, _options, command: Command) => {
      await clientOf(command).deleteSchedule(schedule);
      print(command, { deleted: schedule }, () => `deleted ${schedule}\n`);
    });

  const keys = program.command('keys').description('API keys (admin): create, ls, revoke');
  keys
    .command('create')
    .description('create a key; prints it (stdout) this once')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--scopes <scopes>', 'comma-separated: submit, read, admin', list)
    .option('--queues <queues>', 'comma-separated queues it is restricted to (default: every queue)', list)
    .action(async (options, command: Command) => {
      const created = await clientOf(command).createKey({
        name: options.name,
        scopes: options.scopes,
        ...(options.queues && { queues: options.queues }),
      });
      print(command, created, () => `${created.key}\n`);
    });
  keys
    .command('ls')
    .description('every key (never its secret)')
    .action(async (_options, command: Command) => {
      const all: ApiKey[] = [];
      for await (const key of clientOf(command).keys()) all.push(key);
      print(command, all, () =>
        table(
          ['id', 'name', 'scopes', 'queues', 'created_at'],
          all.map((k) => [k.id, k.name, k.scopes.join(','), k.queues?.join(',') ?? 'all', k.created_at]),
        ),
      );
    });
  keys
    .command('revoke')
    .description('revoke a key: refused everywhere within 0.5 s')
    .argument('<id>', 'the key id (tq_<id>_...)')
    .action(async (id: string, _options, command: Command) => {
      await clientOf(command).revokeKey(id);
      print(command, { revoked: id }, () => `revoked ${id}\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    return exitCodeOf(error, io);
  }
}

/** Maps what ended a command to its exit code, and says why on stderr. */
function exitCodeOf(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander wrote its own message (and the help) already; help and version asked for are no error.
    return ['commander.helpDisplayed', 'commander.version'].includes(error.code) ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof CliExit) {
    io.err(`taskq: ${error.message}\n`);
    return error.code;
  }
  if (error instanceof TaskqUnreachableError) {
    io.err(`taskq: ${error.message}\n`);
    return EXIT.unreachable;
  }
  if (error instanceof TaskqHttpError) {
    const fields = (error.body?.errors ?? []).map((e) => `\n  ${e.field}: ${e.message} (${e.rule})`).join('');
    io.err(`taskq: ${error.status} ${error.body?.message ?? error.message}${fields}\n`);
    if (error.status === 404) return EXIT.notFound;
    return error.status === 400 ? EXIT.usage : EXIT.failed;
  }
  io.err(`taskq: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.failed;
}
