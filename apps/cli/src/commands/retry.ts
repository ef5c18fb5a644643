import { Command } from 'commander';
import { Task } from '@app/client';
import { CliDeps } from '../command';

/** `taskq retry ID...`: run finished tasks again under their ids (admin). */
export function register(program: Command, deps: CliDeps): void {
  program
    .command('retry')
    .description(
      'run finished tasks (succeeded, dead or cancelled) again under their ids: attempts reset, history kept',
    )
    .argument('<ids...>', 'task ids')
    .action(async (ids: string[], _options, command: Command) => {
      const client = deps.client(command);
      const tasks: Task[] = [];
      for (const id of ids) tasks.push(await client.retry(id));
      deps.print(command, tasks, () => tasks.map((t) => `retried ${t.task_id} (${t.status})\n`).join(''));
    });
}
