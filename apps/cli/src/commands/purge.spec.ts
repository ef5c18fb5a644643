import { runFake } from '../../test/run-cli';
import { sampleQueue } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq purge QUEUE --status STATE --yes', () => {
  const counts = { scheduled: 2, queued: 1200, active: 3, retrying: 4, succeeded: 5, dead: 6, cancelled: 7 };

  it('without --yes only says how many tasks would go, and purges nothing', async () => {
    const run = await runFake(['purge', 'mail', '--status', 'queued'], {
      queue: async (queue) => sampleQueue({ queue, counts }),
    });
    expect([run.code, run.stderr, run.fake.argsOf('purgeTasks')]).toEqual([
      EXIT.usage,
      'taskq: this deletes the 1200 queued task(s) of mail for good; run again with --yes to purge them\n',
      [],
    ]);
  });

  it('with --yes purges the state and says how many went', async () => {
    const run = await runFake(['purge', 'mail', '--status', 'retrying', '--yes'], { purgeTasks: async () => 4 });
    expect([run.code, run.stdout, run.fake.argsOf('purgeTasks')]).toEqual([
      EXIT.ok,
      'purged 4 retrying task(s) of mail\n',
      [['mail', 'retrying']],
    ]);
    const json = await runFake(['purge', 'mail', '--status', 'queued', '--yes', '--json'], {
      purgeTasks: async () => 9,
    });
    expect(JSON.parse(json.stdout)).toEqual({ deleted: 9 });
  });

  it('refuses a state that is not a waiting one, or none, as a usage error', async () => {
    for (const argv of [
      ['purge', 'mail', '--status', 'active', '--yes'],
      ['purge', 'mail', '--yes'],
    ]) {
      const run = await runFake(argv);
      expect([argv.join(' '), run.code, run.fake.calls]).toEqual([argv.join(' '), EXIT.usage, []]);
    }
  });
});
