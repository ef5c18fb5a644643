import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { fakeClient, sampleSchedule } from '../../../../test/support/fake-client';
import { Schedules } from './schedules';

const nightly = sampleSchedule({
  schedule_id: 'q~1',
  name: 'nightly',
  cron: '0 3 * * *',
  every_ms: null,
  tz: 'Europe/Paris',
  last_task_id: 'q.7',
  last_task_status: 'succeeded',
});
const hourly = sampleSchedule({ schedule_id: 'q~2', name: 'hourly', enabled: false });

function schedulesPage(admin: boolean) {
  const fake = fakeClient({
    schedules: async () => [nightly, hourly],
    updateSchedule: async (id, body) => ({ ...nightly, schedule_id: id, enabled: body.enabled ?? true }),
  });
  const view = render(<Schedules ctx={{ client: fake.client, admin }} />);
  const row = async (name: string) => {
    await screen.findByText(name);
    return view.container.querySelector<HTMLElement>(`tr[data-schedule="${name}"]`)!;
  };
  return { fake, row };
}

describe('Schedules page', () => {
  it('shows when each runs, what it submits, whether enabled, and its last task', async () => {
    const { row } = schedulesPage(true);
    const cells = [...(await row('nightly')).querySelectorAll('td')].map((td) => td.textContent);
    expect(cells.slice(0, 4)).toEqual(['nightly', '0 3 * * * (Europe/Paris)', 'echo → default', 'yes']);
    expect(cells[5]).toBe('q.7 succeeded');
    expect((await row('hourly')).querySelectorAll('td')[1].textContent).toBe('every 3600000 ms');
  });

  it('disables an enabled schedule and enables a disabled one', async () => {
    const { fake, row } = schedulesPage(true);
    fireEvent.click(within(await row('nightly')).getByRole('button', { name: 'Disable' }));
    fireEvent.click(within(await row('hourly')).getByRole('button', { name: 'Enable' }));
    await waitFor(() =>
      expect(fake.argsOf('updateSchedule')).toEqual([
        ['q~1', { enabled: false }],
        ['q~2', { enabled: true }],
      ]),
    );
  });

  it('shows a read-only credential no action button', async () => {
    const { row } = schedulesPage(false);
    await row('hourly');
    expect(screen.queryAllByRole('button')).toEqual([]);
  });
});
