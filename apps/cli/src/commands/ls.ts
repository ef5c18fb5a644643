import { Command } from 'commander';
import { TASK_STATUSES, TaskQuery, TaskSummary } from '@app/client';
import { CliDeps, CliExit, EXIT, integer } from '../command';
import { table } from '../output';

/** `taskq ls`: the tasks in one state (or matching a search), page after page as far as --limit (or --all) asks. */
export function register(program: Command, deps: CliDeps): void {
  program
    .command('ls')
    .description('list tasks in one state (newest first for finished states, run order for waiting ones)')
    .option('--status <status>', TASK_STATUSES.join('|'))
    .option('--queue <queue>', 'one queue (default: every queue the key may see)')
    .option('--type <task_type>', 'one task type')
    .option('-q, --search <text>', 'only tasks whose id starts with it, or whose last error or dead reason holds it')
    .option('--limit <n>', 'show at most this many', integer('--limit'), 50)
    .option('--all', 'show every one (page after page)')
    .action(async (options, command: Command) => {
      if (options.status !== undefined && !TASK_STATUSES.includes(options.status)) {
        throw new CliExit(EXIT.usage, `--status must be one of ${TASK_STATUSES.join(', ')}`);
      }
      const query: TaskQuery = {
        ...(options.status && { status: options.status }),
        ...(options.queue && { queue: options.queue }),
        ...(options.type && { task_type: options.type }),
        ...(options.search !== undefined && { q: options.search }),
        limit: options.all ? 500 : Math.min(Math.max(options.limit, 1), 500),
      };
      const tasks: TaskSummary[] = [];
      for await (const task of deps.client(command).list(query)) {
        if (!options.all && tasks.length >= options.limit) break;
        tasks.push(task);
      }
      deps.print(command, tasks, () =>
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
}
