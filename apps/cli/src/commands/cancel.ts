import { Command } from 'commander';
import { CliDeps } from '../command';

/** `taskq cancel ID`. */
export function register(program: Command, deps: CliDeps): void {
  program
    .command('cancel')
    .description('cancel a task that has not finished (a running one is aborted)')
    .argument('<id>', 'the task id')
    .action(async (id: string, _options, command: Command) => {
      const task = await deps.client(command).cancel(id);
      deps.print(command, task, () => `cancelled ${task.task_id}\n`);
    });
}
