import { TaskqHttpError } from '@app/client';
import { runFake } from '../../test/run-cli';
import { sampleTask } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq get ID', () => {
  it('prints the task as key value lines, objects as JSON and missing values as -', async () => {
    const task = sampleTask({ task_id: 'q.1', attempts: 2, max_retries: 3, last_error: 'Error: boom' });
    const run = await runFake(['get', 'q.1'], { get: async () => task });
    expect(run.code).toBe(EXIT.ok);
    expect(run.fake.argsOf('get')).toEqual([['q.1']]);
    expect(run.stdout.split('\n').slice(0, 6)).toEqual([
      'task_id      q.1',
      'task_type    echo',
      'queue        default',
      'status       queued',
      'priority     0',
      'attempts     2 (max retries 3)',
    ]);
    expect(run.stdout).toMatch(/^started_at\s+-$/m);
    expect(run.stdout).toMatch(/^last_error\s+Error: boom$/m);
    expect(run.stdout).toMatch(/^payload\s+\{"n":1\}\n/m);
  });

  it('--wait waits --timeout ms and exits 1 unless the task succeeded', async () => {
    const run = await runFake(['get', 'q.1', '--wait', '--timeout', '250'], {
      wait: async () => sampleTask({ status: 'cancelled' }),
    });
    expect(run.fake.argsOf('wait')).toEqual([['q.1', { timeoutMs: 250 }]]);
    expect([run.code, run.stderr]).toEqual([EXIT.failed, 'taskq: task q.1 is cancelled\n']);
  });

  it('exits 3 for a task that does not exist', async () => {
    const run = await runFake(['get', 'q.nope'], {
      get: async () => {
        throw new TaskqHttpError(404, { statusCode: 404, error: 'Not Found', message: 'no task q.nope' }, 'GET', '/');
      },
    });
    expect([run.code, run.stderr]).toEqual([EXIT.notFound, 'taskq: 404 no task q.nope\n']);
  });
});
