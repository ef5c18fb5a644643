import { Inject, Injectable, Logger } from '@nestjs/common';
import { join } from 'node:path';
import Piscina from 'piscina';
import { NonRetryableError } from '@app/contracts';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { TaskHandlerExplorer, ThreadHandler } from '../dispatch/task-handler.explorer';
import { RunContext } from '../run/task-context';
import { ThreadCrashError } from './thread-crash.error';
import { resolveThreadFile } from './thread-file';
import { ThreadReply, ThreadRequest, ThrownInThread } from './thread-protocol';

/**
 * Running from source (the tests), thread-entry and the handlers' modules are TypeScript: each thread
 * compiles them with ts-node (a dev dependency) and resolves the @app/* paths. A build never needs it.
 */
const FROM_SOURCE_EXEC_ARGV = ['--require', 'ts-node/register/transpile-only', '--require', 'tsconfig-paths/register'];

/**
 * The pool of worker threads (piscina) that runs the thread-isolated task types, started at boot when
 * the worker has one. A run sends its validated payload and context to a free thread (or waits, holding
 * its slot, for one), and gets back the result as JSON or what the handler threw, as if it had run here.
 * The run's AbortSignal goes with it: a timeout, a cancel, a lost lease or the end of shutdown's grace
 * terminates the thread at once (a busy loop never looks at a signal), and piscina starts another.
 */
@Injectable()
export class TaskThreadPool {
  private readonly logger = new Logger(TaskThreadPool.name);
  private pool?: Piscina<ThreadRequest, ThreadReply>;

  constructor(
    private readonly handlers: TaskHandlerExplorer,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
  ) {}

  /**
   * Starts WORKER_THREADS threads and loads each thread-isolated module in one of them: a module that is
   * missing, does not load, or exports no function refuses the boot instead of failing every task later.
   */
  async start(): Promise<void> {
    const isolated = this.handlers.threadHandlers();
    if (!isolated.length) return;
    const entry = resolveThreadFile(join(__dirname, 'thread-entry'));
    if (typeof entry !== 'string') throw new Error(`the worker thread entry is missing: ${entry.problem}`);
    const { size, memoryMb } = this.options.threads;
    const pool = new Piscina<ThreadRequest, ThreadReply>({
      filename: entry,
      minThreads: size,
      maxThreads: size,
      idleTimeout: Infinity,
      // Message passing, not Atomics.wait: an idle thread still runs what a handler left scheduled.
      atomics: 'disabled',
      ...(memoryMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: memoryMb } } : {}),
      ...(entry.endsWith('.ts') ? { execArgv: FROM_SOURCE_EXEC_ARGV } : {}),
    });
    // A thread that dies between runs (a timer a finished handler left behind) fails no run.
    pool.on('error', (error: Error) =>
      this.logger.error({ msg: 'a worker thread died between tasks; the pool replaced it', err: error }),
    );
    this.pool = pool;
    const problems: string[] = [];
    for (const handler of isolated) {
      const reply = await pool
        .run({ kind: 'load', file: handler.file, exportName: handler.exportName })
        .catch((error: Error): ThreadReply => ({ ok: false, thrown: { kind: 'value', value: String(error) } }));
      if (!reply.ok) {
        problems.push(
          `task type "${handler.type}" (${handler.name}): ${handler.file} does not load in a worker thread: ${describeThrown(reply.thrown)}`,
        );
      }
    }
    if (problems.length) {
      await this.stop();
      throw new Error(`Thread-isolated task handlers cannot run:\n  ${problems.join('\n  ')}`);
    }
    this.logger.log({
      msg: `worker threads started: ${size} for task type${isolated.length > 1 ? 's' : ''} ${isolated.map((h) => h.type).join(', ')}`,
    });
  }

  /** Runs one task in a thread: its result, or throws what the handler threw (or a ThreadCrashError). */
  async run(handler: ThreadHandler, payload: unknown, run: RunContext): Promise<unknown> {
    const pool = this.pool;
    if (!pool) throw new Error('the worker thread pool is not running');
    const { taskId, taskType, queue, attempt, maxRetries, signal } = run.handler;
    let reply: ThreadReply;
    try {
      reply = await pool.run(
        {
          kind: 'run',
          file: handler.file,
          exportName: handler.exportName,
          payload,
          context: { taskId, taskType, queue, attempt, maxRetries },
        },
        { signal },
      );
    } catch (error) {
      // Aborted: the thread was terminated (or the run taken off the wait list); the abort's reason is the run's error.
      if (signal.aborted) throw signal.reason;
      this.logger.warn({
        msg: 'the worker thread running a task died; the run fails, the pool replaced the thread',
        taskId,
        taskType,
        queue,
        err: error,
      });
      throw new ThreadCrashError(taskType, error, this.options.threads.memoryMb);
    }
    if (!reply.ok) throw fromThread(reply.thrown);
    if ('unserializable' in reply) return unserializableResult(reply.unserializable);
    return JSON.parse(reply.json) as unknown;
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

/** What the handler threw, rebuilt on this side: the same name, message and stack (the thread's frames). */
function fromThread(thrown: ThrownInThread): unknown {
  if (thrown.kind === 'value') return thrown.value;
  const error = thrown.nonRetryable ? new NonRetryableError(thrown.message) : new Error(thrown.message);
  error.name = thrown.name;
  error.stack = thrown.stack ?? `${thrown.name}: ${thrown.message}`;
  return error;
}

function describeThrown(thrown: ThrownInThread): string {
  return thrown.kind === 'error' ? `${thrown.name}: ${thrown.message}` : String(thrown.value);
}

/**
 * A result JSON.stringify refused in the thread (a BigInt, a cycle): a value that throws the same
 * TypeError when the outcome writer stringifies it, so the writer's one rule decides its fate.
 */
function unserializableResult(reason: string): unknown {
  return {
    toJSON() {
      throw new TypeError(reason);
    },
  };
}
