import { fireEvent, render, screen } from '@testing-library/preact';
import { TaskQuery } from '@app/client';
import { fakeClient, sampleTaskSummary } from '../../../../test/support/fake-client';
import { Tasks } from './tasks';

const first = sampleTaskSummary({ task_id: 'q.1', queue: 'q', status: 'dead', attempts: 4 });
const second = sampleTaskSummary({ task_id: 'q.2', queue: 'q', status: 'dead' });

function tasksPage(admin: boolean, hash = 'status=dead&queue=q') {
  const fake = fakeClient({
    listPage: async (query: TaskQuery = {}) =>
      query.cursor === 'c2' ? { tasks: [second], next_cursor: null } : { tasks: [first], next_cursor: 'c2' },
  });
  render(<Tasks ctx={{ client: fake.client, admin }} query={new URLSearchParams(hash)} />);
  return fake;
}

describe('Tasks page', () => {
  beforeEach(() => (location.hash = ''));

  it('asks for a page of 50 of the state and queue in the location, and shows a row per task', async () => {
    const fake = tasksPage(true);
    const link = await screen.findByRole('link', { name: 'q.1' });
    expect(link.getAttribute('href')).toBe('#/task/q.1');
    expect(fake.argsOf('listPage')).toEqual([[{ status: 'dead', queue: 'q', limit: 50 }]]);
    const cells = [...link.closest('tr')!.querySelectorAll('td')].map((td) => td.textContent);
    expect(cells.slice(0, 6)).toEqual(['q.1', 'echo', 'q', 'dead', '0', '4']);
  });

  it('shows queued tasks of every queue when the location names neither', async () => {
    const fake = tasksPage(true, '');
    await screen.findByText('q.1');
    expect(fake.argsOf('listPage')).toEqual([[{ status: 'queued', limit: 50 }]]);
  });

  it('pages forward by next_cursor and back again', async () => {
    const fake = tasksPage(true);
    await screen.findByText('q.1');
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Previous' }).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Next' }));
    await screen.findByText('q.2');
    expect(fake.argsOf('listPage').at(-1)).toEqual([{ status: 'dead', queue: 'q', limit: 50, cursor: 'c2' }]);
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Next' }).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Previous' }));
    await screen.findByText('q.1');
  });

  it('goes to another state, and opens a task by id', async () => {
    tasksPage(true);
    await screen.findByText('q.1');
    fireEvent.change(screen.getByRole('combobox'), { target: { value: 'retrying' } });
    expect(location.hash).toBe('#/tasks?status=retrying&queue=q');
    fireEvent.input(screen.getByPlaceholderText('task id'), { target: { value: ' q.9 ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Open' }));
    expect(location.hash).toBe('#/task/q.9');
  });

  it('searches: the text goes to the location and, as q, to the api, with the state and queue', async () => {
    tasksPage(true);
    await screen.findByText('q.1');
    fireEvent.input(screen.getByPlaceholderText(/^search/), { target: { value: ' ECONNREFUSED ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Search' }));
    expect(location.hash).toBe('#/tasks?status=dead&queue=q&q=ECONNREFUSED');
    const fake = tasksPage(true, 'status=dead&queue=q&q=ECONNREFUSED');
    await screen.findAllByText('q.1');
    expect(fake.argsOf('listPage')).toEqual([[{ status: 'dead', queue: 'q', q: 'ECONNREFUSED', limit: 50 }]]);
    expect(screen.getAllByPlaceholderText(/^search/).at(-1)).toHaveProperty('value', 'ECONNREFUSED');
  });

  it("shows the api's answer to a search it refuses", async () => {
    const fake = fakeClient({
      listPage: async () => {
        throw new Error('q must be 3-200 characters');
      },
    });
    render(<Tasks ctx={{ client: fake.client, admin: true }} query={new URLSearchParams('status=dead&q=ab')} />);
    await screen.findByText(/q must be 3-200 characters/);
  });

  it('has no action button, for any credential: only the form and the pager', async () => {
    tasksPage(false);
    await screen.findByText('q.1');
    expect(screen.getAllByRole('button').map((b) => b.textContent)).toEqual(['Open', 'Search', 'Previous', 'Next']);
  });
});
