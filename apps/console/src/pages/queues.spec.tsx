import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { QueueStats, TaskqHttpError } from '@app/client';
import { fakeClient, sampleQueue } from '../../../../test/support/fake-client';
import { Queues } from './queues';

const mail = sampleQueue({
  queue: 'mail',
  counts: { scheduled: 1, queued: 2, active: 3, retrying: 4, succeeded: 5, dead: 6, cancelled: 7 },
  oldest_queued_age_ms: 4_400,
  limits: { rate: { max: 10, per_ms: 1000 }, concurrency: 2 },
});
const paused = sampleQueue({ queue: 'held', paused: true });
const minute = (succeeded: number, dead: number, retried: number) => ({
  minute: '2026-01-02T03:04:00.000Z',
  succeeded,
  dead,
  retried,
  cancelled: 0,
});

function queuesPage(admin: boolean, queues: QueueStats[] = [mail, paused]) {
  const fake = fakeClient({
    queues: async () => queues,
    history: async (name) => (name === 'mail' ? [minute(3, 1, 0), minute(2, 0, 1)] : []),
    pause: async (name) => sampleQueue({ queue: name, paused: true }),
    resume: async (name) => sampleQueue({ queue: name }),
    queue: async (name) => ({ ...mail, queue: name, counts: { ...mail.counts, retrying: 40 } }),
    purgeTasks: async () => 40,
  });
  const view = render(<Queues ctx={{ client: fake.client, admin }} />);
  const row = async (queue: string) => {
    await screen.findByText(queue);
    return view.container.querySelector<HTMLElement>(`tr[data-queue="${queue}"]`)!;
  };
  return { fake, row };
}

describe('Queues page', () => {
  it('shows each queue: state, the count of every state, oldest queued, the hour in charts, limits', async () => {
    const { row } = queuesPage(true);
    const cells = [...(await row('mail')).querySelectorAll('td')].map((td) => td.textContent);
    expect(cells.slice(0, 10)).toEqual(['mail', 'running', '1', '2', '3', '4', '5', '6', '7', '4 s']);
    expect(cells[12]).toBe('10 per 1000 ms, concurrency 2');
    expect(
      within(await row('mail'))
        .getByRole('link', { name: '6' })
        .getAttribute('href'),
    ).toBe('#/dlq?queue=mail');
    await waitFor(async () =>
      expect((await row('mail')).querySelector('td.throughput svg')!.getAttribute('data-total')).toBe('5'),
    );
    expect((await row('mail')).querySelector('td.failures svg')!.getAttribute('data-total')).toBe('2');
    expect((await row('held')).querySelector('td.state')!.textContent).toBe('paused');
  });

  it('pauses a running queue and resumes a paused one, then reads the queues again', async () => {
    const { fake, row } = queuesPage(true);
    fireEvent.click(within(await row('mail')).getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(fake.argsOf('pause')).toEqual([['mail']]));
    fireEvent.click(within(await row('held')).getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(fake.argsOf('resume')).toEqual([['held']]));
    await waitFor(() => expect(fake.argsOf('queues').length).toBeGreaterThanOrEqual(3));
  });

  it('purges a waiting state only after confirming with its count as it is now, and offers none that is empty', async () => {
    const confirmed = jest.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
    const alerted = jest.spyOn(window, 'alert').mockImplementation(() => undefined);
    try {
      const { fake, row } = queuesPage(true);
      expect(
        within(await row('mail'))
          .getAllByRole('button')
          .map((b) => b.textContent),
      ).toEqual(['Pause', 'Purge queued', 'Purge scheduled', 'Purge retrying']);
      expect(
        within(await row('held'))
          .getAllByRole('button')
          .map((b) => b.textContent),
      ).toEqual(['Resume']);
      fireEvent.click(within(await row('mail')).getByRole('button', { name: 'Purge retrying' }));
      await waitFor(() =>
        expect(confirmed).toHaveBeenLastCalledWith(
          'Delete the 40 retrying tasks of mail for good? They leave no record.',
        ),
      );
      expect(fake.argsOf('purgeTasks')).toEqual([]);
      fireEvent.click(within(await row('mail')).getByRole('button', { name: 'Purge retrying' }));
      await waitFor(() => expect(fake.argsOf('purgeTasks')).toEqual([['mail', 'retrying']]));
      await waitFor(() => expect(alerted).toHaveBeenCalledWith('Purged 40 retrying tasks of mail'));
    } finally {
      confirmed.mockRestore();
      alerted.mockRestore();
    }
  });

  it('shows a count the unreachable history keeps as "-"', async () => {
    const { row } = queuesPage(true, [
      sampleQueue({ queue: 'pg', counts: { ...mail.counts, succeeded: null, cancelled: null } }),
    ]);
    const cells = [...(await row('pg')).querySelectorAll('td')].map((td) => td.textContent);
    expect(cells.slice(2, 9)).toEqual(['1', '2', '3', '4', '-', '6', '-']);
  });

  it('shows a read-only credential no action button', async () => {
    const { fake, row } = queuesPage(false);
    await row('held');
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(fake.argsOf('pause')).toEqual([]);
  });

  it('shows what the api answered when the queues cannot be read', async () => {
    const fake = fakeClient({
      queues: async () => {
        throw new TaskqHttpError(503, { statusCode: 503, error: 'x', message: 'Redis unavailable' }, 'GET', '/');
      },
    });
    render(<Queues ctx={{ client: fake.client, admin: true }} />);
    expect((await screen.findByText('503: Redis unavailable')).className).toBe('error');
  });
});
