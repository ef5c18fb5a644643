import { runFake } from '../../test/run-cli';
import { sampleQueue } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq queues, pause, resume', () => {
  it('queues prints a row per queue: paused, the count of every state, the limits', async () => {
    const queues = [
      sampleQueue({
        queue: 'mail',
        paused: true,
        counts: { scheduled: 1, queued: 2, active: 3, retrying: 4, succeeded: 5, dead: 6, cancelled: 7 },
        limits: { rate: { max: 10, per_ms: 1000 }, concurrency: 2 },
      }),
      sampleQueue({ queue: 'default' }),
    ];
    const run = await runFake(['queues'], { queues: async () => queues });
    const rows = run.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(
      /^QUEUE\s+PAUSED\s+SCHEDULED\s+QUEUED\s+ACTIVE\s+RETRYING\s+SUCCEEDED\s+DEAD\s+CANCELLED\s+LIMITS$/,
    );
    expect(rows[1]).toMatch(/^mail\s+yes\s+1\s+2\s+3\s+4\s+5\s+6\s+7\s+10\/1000ms, concurrency 2$/);
    expect(rows[2]).toMatch(/^default\s+no(\s+0){7}\s+-$/);
  });

  it('pause and resume name the queue and say what it is now', async () => {
    const pause = await runFake(['pause', 'mail'], { pause: async (queue) => sampleQueue({ queue, paused: true }) });
    expect([pause.code, pause.stdout, pause.fake.argsOf('pause')]).toEqual([EXIT.ok, 'mail paused\n', [['mail']]]);
    const resume = await runFake(['resume', 'mail'], { resume: async (queue) => sampleQueue({ queue }) });
    expect([resume.stdout, resume.fake.argsOf('resume')]).toEqual(['mail resumed\n', [['mail']]]);
  });
});
