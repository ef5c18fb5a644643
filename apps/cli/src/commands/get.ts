import { Command } from 'commander';
import { CliDeps, DEFAULT_WAIT_MS, integer } from '../command';
import { showTask, waitAndShow } from './task-view';

/** `taskq get ID [--wait]`. */
export function register(program: Command, deps: CliDeps): void {
  program
    .command('get')
    .description('show a task: status, payload, result, error')
    .argument('<id>', 'the task id')
    .option('--wait', 'wait until the task finishes; exit 1 unless it succeeded')
    .option('--timeout <ms>', 'how long --wait waits', integer('--timeout'), DEFAULT_WAIT_MS)
    .action(async (id: string, options, command: Command) => {
      if (options.wait) return waitAndShow(deps, command, id, options.timeout);
      showTask(deps, command, await deps.client(command).get(id));
    });
}
