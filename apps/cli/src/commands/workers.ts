import { Command } from 'commander';
import { CliDeps } from '../command';
import { table } from '../output';

/** `taskq workers`. */
export function register(program: Command, deps: CliDeps): void {
  program
    .command('workers')
    .description('live workers, from their heartbeats')
    .action(async (_options, command: Command) => {
      const workers = await deps.client(command).workers();
      deps.print(command, workers, () =>
        table(
          ['worker_id', 'kind', 'queues', 'concurrency', 'in_flight', 'last_seen'],
          workers.map((w) => [w.worker_id, w.kind, w.queues.join(','), w.concurrency, w.in_flight, w.last_seen]),
        ),
      );
    });
}
