import { Command } from 'commander';
import { CliDeps, CliExit, EXIT, integer, payloadOf } from '../command';
import { table } from '../output';

/** `taskq schedules ls|add|rm`: cron and interval schedules. */
export function register(program: Command, deps: CliDeps): void {
  const schedules = program.command('schedules').description('cron and interval schedules: ls, add, rm');
  schedules
    .command('ls')
    .description('every schedule, by name')
    .action(async (_options, command: Command) => {
      const all = await deps.client(command).schedules();
      deps.print(command, all, () =>
        table(
          ['name', 'every', 'task_type', 'queue', 'enabled', 'next_run_at', 'last_task_status'],
          all.map((s) => [
            s.name,
            s.cron ? `${s.cron}${s.tz ? ` (${s.tz})` : ''}` : `${s.every_ms} ms`,
            s.task.task_type,
            s.task.queue,
            s.enabled ? 'yes' : 'no',
            s.next_run_at,
            s.last_task_status,
          ]),
        ),
      );
    });
  schedules
    .command('add')
    .description('create a schedule: --cron or --every, and the task it submits')
    .argument('<name>', 'a unique name')
    .requiredOption('--type <task_type>', 'the task type it submits')
    .option('--payload <payload>', 'JSON, or any other text as a string', 'null')
    .option('--cron <expression>', 'a cron expression (5 fields, or 6 with seconds first)')
    .option('--every <ms>', 'a fixed interval in ms (at least 1000)', integer('--every'))
    .option('--tz <zone>', 'the IANA time zone --cron is read in')
    .option('--queue <queue>', 'the queue its tasks go to')
    .option('--priority <n>', 'its tasks priority', integer('--priority'))
    .option('--disabled', 'create it disabled')
    .action(async (name: string, options, command: Command) => {
      if ((options.cron === undefined) === (options.every === undefined)) {
        throw new CliExit(EXIT.usage, 'schedules add needs exactly one of --cron and --every');
      }
      const schedule = await deps.client(command).createSchedule({
        name,
        ...(options.cron !== undefined && { cron: options.cron }),
        ...(options.every !== undefined && { every_ms: options.every }),
        ...(options.tz !== undefined && { tz: options.tz }),
        ...(options.disabled && { enabled: false }),
        task: {
          task_type: options.type,
          payload: payloadOf(options.payload),
          ...(options.queue !== undefined && { queue: options.queue }),
          ...(options.priority !== undefined && { priority: options.priority }),
        },
      });
      deps.print(
        command,
        schedule,
        () => `created ${schedule.name} (${schedule.schedule_id}), next run ${schedule.next_run_at}\n`,
      );
    });
  schedules
    .command('rm')
    .description('delete a schedule (the tasks it made stay)')
    .argument('<schedule>', 'its name or schedule_id')
    .action(async (schedule: string, _options, command: Command) => {
      await deps.client(command).deleteSchedule(schedule);
      deps.print(command, { deleted: schedule }, () => `deleted ${schedule}\n`);
    });
}
