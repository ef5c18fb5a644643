import { runFake } from '../../test/run-cli';
import { sampleSchedule } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq schedules', () => {
  it('ls shows a cron with its zone, an interval in ms, and whether each is enabled', async () => {
    const all = [
      sampleSchedule({ name: 'nightly', cron: '0 3 * * *', every_ms: null, tz: 'Europe/Paris', enabled: false }),
      sampleSchedule({ name: 'hourly', last_task_status: 'succeeded' }),
    ];
    const run = await runFake(['schedules', 'ls'], { schedules: async () => all });
    const rows = run.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^NAME\s+EVERY\s+TASK_TYPE\s+QUEUE\s+ENABLED\s+NEXT_RUN_AT\s+LAST_TASK_STATUS$/);
    expect(rows[1]).toMatch(/^nightly\s+0 3 \* \* \* \(Europe\/Paris\)\s+echo\s+default\s+no\s+\S+\s+-$/);
    expect(rows[2]).toMatch(/^hourly\s+3600000 ms\s+echo\s+default\s+yes\s+\S+\s+succeeded$/);
  });

  it('add sends the schedule and the task it submits', async () => {
    const created = sampleSchedule({ name: 'nightly' });
    const run = await runFake(
      [
        'schedules',
        'add',
        'nightly',
        '--cron',
        '0 3 * * *',
        '--tz',
        'UTC',
        '--type',
        'report',
        '--payload',
        '{"x":1}',
        '--queue',
        'q',
        '--priority',
        '5',
        '--disabled',
      ],
      { createSchedule: async () => created },
    );
    expect(run.code).toBe(EXIT.ok);
    expect(run.fake.argsOf('createSchedule')).toEqual([
      [
        {
          name: 'nightly',
          cron: '0 3 * * *',
          tz: 'UTC',
          enabled: false,
          task: { task_type: 'report', payload: { x: 1 }, queue: 'q', priority: 5 },
        },
      ],
    ]);
    expect(run.stdout).toBe(`created nightly (${created.schedule_id}), next run ${created.next_run_at}\n`);
    const every = await runFake(['schedules', 'add', 'often', '--every', '5000', '--type', 'echo'], {
      createSchedule: async () => created,
    });
    expect(every.fake.argsOf('createSchedule')).toEqual([
      [{ name: 'often', every_ms: 5000, task: { task_type: 'echo', payload: null } }],
    ]);
  });

  it('add needs exactly one of --cron and --every, and --type (exit 2, nothing sent)', async () => {
    for (const argv of [
      ['schedules', 'add', 'x', '--type', 'echo'],
      ['schedules', 'add', 'x', '--type', 'echo', '--cron', '* * * * *', '--every', '1000'],
      ['schedules', 'add', 'x', '--every', '1000'],
    ]) {
      const run = await runFake(argv);
      expect([argv, run.code, run.fake.calls]).toEqual([argv, EXIT.usage, []]);
    }
  });

  it('rm deletes by name or id', async () => {
    const run = await runFake(['schedules', 'rm', 'nightly'], { deleteSchedule: async () => undefined });
    expect([run.stdout, run.fake.argsOf('deleteSchedule')]).toEqual(['deleted nightly\n', [['nightly']]]);
  });
});
