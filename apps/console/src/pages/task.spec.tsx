import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { Task, TaskqHttpError } from '@app/client';
import { fakeClient, sampleTask } from '../../../../test/support/fake-client';
import { TaskPage } from './task';

function taskPage(task: Task, admin = true) {
  const fake = fakeClient({
    get: async () => task,
    cancel: async () => ({ ...task, status: 'cancelled' }),
    requeueDead: async () => ({ ...task, status: 'queued' }),
    retry: async () => ({ ...task, status: 'queued' }),
  });
  const view = render(<TaskPage ctx={{ client: fake.client, admin }} id={task.task_id} />);
  const field = (name: string) => view.container.querySelector(`dd[data-field="${name}"]`)?.textContent;
  return { fake, field };
}

describe('Task page', () => {
  it('shows the task: fields, payload, result, last error and every attempt', async () => {
    const { fake, field } = taskPage(
      sampleTask({
        task_id: 'q.1',
        status: 'retrying',
        attempts: 1,
        max_retries: 3,
        payload: { to: 'a@b.c' },
        result: null,
        last_error: 'Error: boom\n    at handler',
        schedule_id: 'q~s1',
        attempts_history: [
          {
            attempt: 1,
            started_at: '2026-01-02T03:04:05.000Z',
            finished_at: '2026-01-02T03:04:06.000Z',
            worker: 'w1',
            outcome: 'retried',
            error: 'Error: boom',
          },
        ],
      }),
    );
    await screen.findByText('Task q.1');
    expect(fake.argsOf('get')).toEqual([['q.1']]);
    expect([field('status'), field('attempts'), field('dead reason')]).toEqual(['retrying', '1 of 4', '-']);
    expect(field('schedule')).toMatch(/^q~s1 \(tick -\)$/);
    expect(screen.getByText(/"to": "a@b.c"/).tagName).toBe('PRE');
    expect(screen.getByText(/at handler/).className).toBe('error');
    const attempt = screen.getByText('w1').closest('tr')!;
    expect(attempt.textContent).toContain('retried');
  });

  it('cancels an unfinished task, then reads it again', async () => {
    const { fake } = taskPage(sampleTask({ task_id: 'q.1', status: 'queued' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(fake.argsOf('cancel')).toEqual([['q.1']]));
    await waitFor(() => expect(fake.argsOf('get')).toHaveLength(2));
    expect(screen.queryByRole('button', { name: 'Requeue' })).toBeNull();
  });

  it('requeues a dead task', async () => {
    const { fake } = taskPage(sampleTask({ task_id: 'q.1', status: 'dead', dead_reason: 'max_retries' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Requeue' }));
    await waitFor(() => expect(fake.argsOf('requeueDead')).toEqual([['q.1']]));
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
  });

  it('offers a task that succeeded only a retry, once confirmed', async () => {
    const confirmed = jest.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
    try {
      const { fake } = taskPage(sampleTask({ task_id: 'q.1', status: 'succeeded' }));
      const retry = await screen.findByRole('button', { name: 'Retry' });
      expect(screen.getAllByRole('button')).toEqual([retry]);
      fireEvent.click(retry);
      expect(confirmed).toHaveBeenLastCalledWith('Run q.1 again (attempts reset, its history kept)?');
      expect(fake.argsOf('retry')).toEqual([]);
      fireEvent.click(retry);
      await waitFor(() => expect(fake.argsOf('retry')).toEqual([['q.1']]));
      await waitFor(() => expect(fake.argsOf('get')).toHaveLength(2));
    } finally {
      confirmed.mockRestore();
    }
  });

  it.each([['queued'], ['dead']] as const)('shows a read-only credential a %s task without buttons', async (status) => {
    taskPage(sampleTask({ task_id: 'q.1', status }), false);
    await screen.findByText('Task q.1');
    expect(screen.queryAllByRole('button')).toEqual([]);
  });

  it('says what the api answered for a task it cannot show', async () => {
    const fake = fakeClient({
      get: async () => {
        throw new TaskqHttpError(404, { statusCode: 404, error: 'Not Found', message: 'no task q.0' }, 'GET', '/');
      },
    });
    render(<TaskPage ctx={{ client: fake.client, admin: true }} id="q.0" />);
    await screen.findByText('404: no task q.0');
  });
});
