import { runFake } from '../../test/run-cli';
import { itemsOf, sampleDeadTask, sampleTask } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq dlq', () => {
  it('ls shows the dead tasks of a queue with the first line of their error, at most --limit', async () => {
    const dead = [
      sampleDeadTask({ task_id: 'q.1', queue: 'q', last_error: `${'x'.repeat(70)}\n    at handler` }),
      sampleDeadTask({ task_id: 'q.2', queue: 'q' }),
    ];
    const run = await runFake(['dlq', 'ls', '--queue', 'q', '--limit', '1'], { dead: () => itemsOf(dead) });
    expect(run.fake.argsOf('dead')).toEqual([[{ queue: 'q', limit: 1 }]]);
    const rows = run.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^TASK_ID\s+TYPE\s+QUEUE\s+DEAD_REASON\s+ATTEMPTS\s+FINISHED_AT\s+LAST_ERROR$/);
    expect(rows.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^q\\.1\\s+echo\\s+q\\s+max_retries\\s+4\\s+\\S+\\s+x{60}$`)),
    ]);
  });

  it('requeue puts back each id in turn', async () => {
    const run = await runFake(['dlq', 'requeue', 'q.1', 'q.2'], {
      requeueDead: async (id) => sampleTask({ task_id: id, status: 'queued' }),
    });
    expect(run.fake.argsOf('requeueDead')).toEqual([['q.1'], ['q.2']]);
    expect([run.code, run.stdout]).toEqual([EXIT.ok, 'requeued q.1 (queued)\nrequeued q.2 (queued)\n']);
  });

  it('rm deletes each id; purge deletes a queue and says how many', async () => {
    const rm = await runFake(['dlq', 'rm', 'q.1', 'q.2', '--json'], { deleteDead: async () => undefined });
    expect(rm.fake.argsOf('deleteDead')).toEqual([['q.1'], ['q.2']]);
    expect(JSON.parse(rm.stdout)).toEqual({ deleted: ['q.1', 'q.2'] });
    const purge = await runFake(['dlq', 'purge', 'q'], { purgeDead: async () => 7 });
    expect([purge.fake.argsOf('purgeDead'), purge.stdout]).toEqual([[['q']], 'deleted 7 dead tasks of q\n']);
  });
});
