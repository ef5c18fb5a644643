import { TaskqHttpError } from '@app/client';
import { runFake } from '../../test/run-cli';
import { sampleTask } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq retry ID...', () => {
  it('retries each task in turn and says what each is now', async () => {
    const run = await runFake(['retry', 'q.1', 'q.2'], {
      retry: async (id) => sampleTask({ task_id: id, status: 'queued', attempts: 0 }),
    });
    expect([run.code, run.stdout, run.fake.argsOf('retry')]).toEqual([
      EXIT.ok,
      'retried q.1 (queued)\nretried q.2 (queued)\n',
      [['q.1'], ['q.2']],
    ]);
  });

  it('prints the tasks as they are with --json', async () => {
    const task = sampleTask({ task_id: 'q.1', status: 'queued' });
    const run = await runFake(['retry', 'q.1', '--json'], { retry: async () => task });
    expect(JSON.parse(run.stdout)).toEqual([task]);
  });

  it('exits 1 for a task that has not finished (409) and 3 for an unknown one (404)', async () => {
    const refuse = (status: number, message: string) => async () => {
      throw new TaskqHttpError(status, { statusCode: status, error: 'x', message }, 'POST', '/tasks/q.1/retry');
    };
    const running = await runFake(['retry', 'q.1'], { retry: refuse(409, 'task q.1 is active; only ...') });
    expect([running.code, running.stderr]).toEqual([EXIT.failed, 'taskq: 409 task q.1 is active; only ...\n']);
    const unknown = await runFake(['retry', 'q.1'], { retry: refuse(404, 'task q.1 does not exist') });
    expect(unknown.code).toBe(EXIT.notFound);
  });
});
