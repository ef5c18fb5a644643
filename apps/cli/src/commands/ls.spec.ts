import { runFake } from '../../test/run-cli';
import { itemsOf, sampleTaskSummary } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

const tasks = Array.from({ length: 5 }, (_, i) => sampleTaskSummary({ task_id: `q.${i}`, queue: 'q' }));

describe('taskq ls', () => {
  it('asks for one state, queue and type, and stops at --limit', async () => {
    const run = await runFake(
      ['ls', '--status', 'queued', '--queue', 'q', '--type', 'echo', '--limit', '2', '--json'],
      {
        list: () => itemsOf(tasks),
      },
    );
    expect(run.code).toBe(EXIT.ok);
    expect(run.fake.argsOf('list')).toEqual([[{ status: 'queued', queue: 'q', task_type: 'echo', limit: 2 }]]);
    expect(JSON.parse(run.stdout).map((t: { task_id: string }) => t.task_id)).toEqual(['q.0', 'q.1']);
  });

  it('searches with -q/--search (the api says what a search may be)', async () => {
    const run = await runFake(['ls', '--status', 'dead', '--search', 'ECONNREFUSED', '--json'], {
      list: () => itemsOf(tasks),
    });
    expect(run.fake.argsOf('list')).toEqual([[{ status: 'dead', q: 'ECONNREFUSED', limit: 50 }]]);
    const short = await runFake(['ls', '-q', 'q.1', '--json'], { list: () => itemsOf(tasks) });
    expect(short.fake.argsOf('list')).toEqual([[{ q: 'q.1', limit: 50 }]]);
  });

  it('asks for pages of at most 500 (at least 1), and --all shows every one', async () => {
    const big = await runFake(['ls', '--limit', '10000', '--json'], { list: () => itemsOf(tasks) });
    expect(big.fake.argsOf('list')).toEqual([[{ limit: 500 }]]);
    expect(JSON.parse(big.stdout)).toHaveLength(5);
    const zero = await runFake(['ls', '--limit', '0', '--json'], { list: () => itemsOf(tasks) });
    expect([zero.fake.argsOf('list'), JSON.parse(zero.stdout)]).toEqual([[[{ limit: 1 }]], []]);
    const all = await runFake(['ls', '--all', '--limit', '1', '--json'], { list: () => itemsOf(tasks) });
    expect([all.fake.argsOf('list'), JSON.parse(all.stdout).length]).toEqual([[[{ limit: 500 }]], 5]);
  });

  it('prints a table with a row per task', async () => {
    const run = await runFake(['ls', '--limit', '1'], { list: () => itemsOf(tasks) });
    const rows = run.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^TASK_ID\s+TYPE\s+QUEUE\s+STATUS\s+PRIORITY\s+ATTEMPTS\s+CREATED_AT\s+FINISHED_AT$/);
    expect(rows.slice(1)).toEqual([expect.stringMatching(/^q\.0\s+echo\s+q\s+queued\s+0\s+0\s+2026-\S+\s+-$/)]);
  });

  it('refuses a status that does not exist (exit 2), naming the ones that do', async () => {
    const run = await runFake(['ls', '--status', 'nope']);
    expect([run.code, run.fake.calls]).toEqual([EXIT.usage, []]);
    expect(run.stderr).toBe(
      'taskq: --status must be one of scheduled, queued, active, retrying, succeeded, dead, cancelled\n',
    );
  });
});
