import { Command } from 'commander';
import { DeadTaskSummary, Task } from '@app/client';
import { CliDeps, integer } from '../command';
import { table } from '../output';

/** `taskq dlq ls|requeue|rm|purge`: the dead-letter queue. */
export function register(program: Command, deps: CliDeps): void {
  const dlq = program.command('dlq').description('the dead-letter queue: ls, requeue, rm, purge');
  dlq
    .command('ls')
    .description('dead tasks, newest death first')
    .option('--queue <queue>', 'one queue (default: every queue the key may see)')
    .option('--limit <n>', 'show at most this many', integer('--limit'), 50)
    .action(async (options, command: Command) => {
      const tasks: DeadTaskSummary[] = [];
      const pageSize = Math.min(Math.max(options.limit, 1), 500);
      for await (const task of deps.client(command).dead({
        ...(options.queue && { queue: options.queue }),
        limit: pageSize,
      })) {
        if (tasks.length >= options.limit) break;
        tasks.push(task);
      }
      deps.print(command, tasks, () =>
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
      const client = deps.client(command);
      const tasks: Task[] = [];
      for (const id of ids) tasks.push(await client.requeueDead(id));
      deps.print(command, tasks, () => tasks.map((t) => `requeued ${t.task_id} (${t.status})\n`).join(''));
    });
  dlq
    .command('rm')
    .description('delete dead tasks')
    .argument('<ids...>', 'task ids')
    .action(async (ids: string[], _options, command: Command) => {
      const client = deps.client(command);
      for (const id of ids) await client.deleteDead(id);
      deps.print(command, { deleted: ids }, () => ids.map((id) => `deleted ${id}\n`).join(''));
    });
  dlq
    .command('purge')
    .description('delete every dead task of a queue')
    .argument('<queue>', 'the queue')
    .action(async (queue: string, _options, command: Command) => {
      const deleted = await deps.client(command).purgeDead(queue);
      deps.print(command, { deleted }, () => `deleted ${deleted} dead tasks of ${queue}\n`);
    });
}
