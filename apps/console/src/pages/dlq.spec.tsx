import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { fakeClient, sampleDeadTask, sampleQueue, sampleTask } from '../../../../test/support/fake-client';
import { Dlq } from './dlq';

function dlqPage(admin: boolean, queue = 'q') {
  const fake = fakeClient({
    deadPage: async () => ({
      tasks: [sampleDeadTask({ task_id: 'q.1', queue: 'q', last_error: 'Error: first line\n    at handler' })],
      next_cursor: null,
    }),
    requeueDead: async (id) => sampleTask({ task_id: id, status: 'queued' }),
    deleteDead: async () => undefined,
    queue: async (name) => sampleQueue({ queue: name, counts: { ...sampleQueue().counts, dead: 12 } }),
    purgeDead: async () => 12,
  });
  render(<Dlq ctx={{ client: fake.client, admin }} query={new URLSearchParams(queue ? `queue=${queue}` : '')} />);
  const row = async () => (await screen.findByRole('link', { name: 'q.1' })).closest('tr')!;
  return { fake, row };
}

describe('Dead-letter queue page', () => {
  let confirmed: jest.SpyInstance;
  let alerted: jest.SpyInstance;
  beforeEach(() => {
    confirmed = jest.spyOn(window, 'confirm').mockReturnValue(true);
    alerted = jest.spyOn(window, 'alert').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('asks for a page of the queue and shows each dead task with the first line of its error', async () => {
    const { fake, row } = dlqPage(true);
    const cells = [...(await row()).querySelectorAll('td')].map((td) => td.textContent);
    expect(cells.slice(0, 5)).toEqual(['q.1', 'echo', 'q', 'max_retries', '4']);
    expect(cells[6]).toBe('Error: first line');
    expect(fake.argsOf('deadPage')).toEqual([[{ queue: 'q', limit: 50 }]]);
  });

  it('requeues a dead task, and deletes one once confirmed', async () => {
    const { fake, row } = dlqPage(true);
    fireEvent.click(within(await row()).getByRole('button', { name: 'Requeue' }));
    await waitFor(() => expect(fake.argsOf('requeueDead')).toEqual([['q.1']]));
    confirmed.mockReturnValueOnce(false);
    fireEvent.click(within(await row()).getByRole('button', { name: 'Delete' }));
    expect(confirmed).toHaveBeenLastCalledWith('Delete q.1?');
    fireEvent.click(within(await row()).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(fake.argsOf('deleteDead')).toEqual([['q.1']]));
  });

  it('purges a queue after confirming with its count of dead tasks', async () => {
    const { fake } = dlqPage(true);
    fireEvent.click(await screen.findByRole('button', { name: 'Purge q' }));
    await waitFor(() => expect(fake.argsOf('purgeDead')).toEqual([['q']]));
    expect(fake.argsOf('queue')).toEqual([['q']]);
    expect(confirmed).toHaveBeenCalledWith('Delete all 12 dead tasks of q? This cannot be undone.');
    expect(alerted).toHaveBeenCalledWith('Deleted 12 dead tasks');
  });

  it('offers no purge without a queue', async () => {
    const { fake, row } = dlqPage(true, '');
    await row();
    expect(fake.argsOf('deadPage')).toEqual([[{ limit: 50 }]]);
    expect(screen.queryByRole('button', { name: /^Purge/ })).toBeNull();
  });

  it('shows a read-only credential no action button: only the pager', async () => {
    const { row } = dlqPage(false);
    await row();
    expect(screen.getAllByRole('button').map((b) => b.textContent)).toEqual(['Previous', 'Next']);
  });
});
