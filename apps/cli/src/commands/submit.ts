import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { SubmitTask, TaskqClient } from '@app/client';
import { CliDeps, CliExit, DEFAULT_WAIT_MS, EXIT, integer, payloadOf } from '../command';
import { progressBar, table } from '../output';
import { waitAndShow } from './task-view';

const DEFAULT_BATCH_SIZE = 500;

/** `taskq submit TYPE PAYLOAD` (one task, optionally waited for) or `taskq submit --file tasks.jsonl` (batches). */
export function register(program: Command, deps: CliDeps): void {
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
      const client = deps.client(command);
      if (options.file) {
        if (type !== undefined || options.wait || options.key) {
          throw new CliExit(EXIT.usage, 'submit --file takes no TYPE, PAYLOAD, --wait or --key');
        }
        await submitFile(deps, command, client, options.file, defaults, options.batchSize);
        return;
      }
      if (type === undefined || payload === undefined) {
        throw new CliExit(EXIT.usage, 'submit needs TYPE and PAYLOAD (or --file)');
      }
      const submitted = await client.submit(
        { task_type: type, payload: payloadOf(payload), ...defaults },
        { idempotencyKey: options.key },
      );
      if (options.wait) return waitAndShow(deps, command, submitted.task_id, options.timeout);
      deps.print(command, submitted, () =>
        table(['task_id', 'status', 'queue'], [[submitted.task_id, submitted.status, submitted.queue]]),
      );
    });
}

/** Every line of a JSONL file, sent `batchSize` at a time; a progress bar on a terminal, a summary at the end. */
async function submitFile(
  deps: CliDeps,
  command: Command,
  client: TaskqClient,
  path: string,
  defaults: Partial<SubmitTask>,
  batchSize: number,
) {
  const { io } = deps;
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
  const progress = io.errIsTty && !deps.json(command);
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
  deps.print(
    command,
    summary,
    () =>
      `submitted ${taskIds.length} tasks in ${batches} ${batches === 1 ? 'batch' : 'batches'}` +
      `${replayed ? ` (${replayed} replayed: submitted before with the same idempotency key)` : ''}\n`,
  );
}
