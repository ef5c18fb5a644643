import { Command } from 'commander';
import { TASK_STATUSES } from '@app/client';
import { CliDeps } from '../command';
import { table } from '../output';

/** `taskq queues`, `taskq pause QUEUE`, `taskq resume QUEUE`. */
export function register(program: Command, deps: CliDeps): void {
  program
    .command('queues')
    .description('every queue: counts by state, paused, limits')
    .action(async (_options, command: Command) => {
      const queues = await deps.client(command).queues();
      deps.print(command, queues, () =>
        table(
          ['queue', 'paused', ...TASK_STATUSES, 'limits'],
          queues.map((q) => [
            q.queue,
            q.paused ? 'yes' : 'no',
            ...TASK_STATUSES.map((s) => q.counts[s]),
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
        const client = deps.client(command);
        const stats = name === 'pause' ? await client.pause(queue) : await client.resume(queue);
        deps.print(command, stats, () => `${stats.queue} ${stats.paused ? 'paused' : 'resumed'}\n`);
      });
  }
}
