import { TaskqHttpError } from '@app/client';
import { runFake } from '../../test/run-cli';
import { sampleTask } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq cancel ID', () => {
  it('cancels the task and says so', async () => {
    const run = await runFake(['cancel', 'q.1'], { cancel: async () => sampleTask({ task_id: 'q.1' }) });
    expect([run.code, run.stdout, run.fake.argsOf('cancel')]).toEqual([EXIT.ok, 'cancelled q.1\n', [['q.1']]]);
  });

  it('exits 1 for a task that finished already (409)', async () => {
    const run = await runFake(['cancel', 'q.1'], {
      cancel: async () => {
        const body = { statusCode: 409, error: 'Conflict', message: 'task q.1 is cancelled already' };
        throw new TaskqHttpError(409, body, 'POST', '/tasks/q.1/cancel');
      },
    });
    expect([run.code, run.stderr]).toEqual([EXIT.failed, 'taskq: 409 task q.1 is cancelled already\n']);
  });
});
