import { Command } from 'commander';
import { PURGEABLE_STATUSES, PurgeableStatus } from '@app/client';
import { CliDeps, CliExit, EXIT } from '../command';

/**
 * `taskq purge QUEUE --status STATE --yes`: drops a queue's waiting tasks for good (admin). Without --yes it
 * says how many would go and does nothing: the purge keeps no record to undo it from.
 */
export function register(program: Command, deps: CliDeps): void {
  program
    .command('purge')
    .description('delete the tasks of a queue waiting in one state, for good (never a running one)')
    .argument('<queue>', 'the queue')
    .requiredOption('--status <status>', PURGEABLE_STATUSES.join('|'))
    .option('--yes', 'really purge (without it, only says how many tasks would go)')
    .action(async (queue: string, options: { status: string; yes?: boolean }, command: Command) => {
      if (!PURGEABLE_STATUSES.includes(options.status as PurgeableStatus)) {
        throw new CliExit(EXIT.usage, `--status must be one of ${PURGEABLE_STATUSES.join(', ')}`);
      }
      const status = options.status as PurgeableStatus;
      const client = deps.client(command);
      if (!options.yes) {
        const waiting = (await client.queue(queue)).counts[status];
        throw new CliExit(
          EXIT.usage,
          `this deletes the ${waiting} ${status} task(s) of ${queue} for good; run again with --yes to purge them`,
        );
      }
      const deleted = await client.purgeTasks(queue, status);
      deps.print(command, { deleted }, () => `purged ${deleted} ${status} task(s) of ${queue}\n`);
    });
}
