import { render, screen } from '@testing-library/preact';
import { fakeClient, sampleWorker } from '../../../../test/support/fake-client';
import { Workers } from './workers';

describe('Workers page', () => {
  it('shows a row per live worker and no action button', async () => {
    const fake = fakeClient({ workers: async () => [sampleWorker({ worker_id: 'w1', queues: ['a', 'b'] })] });
    render(<Workers ctx={{ client: fake.client, admin: true }} />);
    const row = (await screen.findByText('w1')).closest('tr')!;
    expect([...row.querySelectorAll('td')].slice(0, 5).map((td) => td.textContent)).toEqual([
      'w1',
      'native',
      'a, b',
      '8',
      '1',
    ]);
    expect(screen.queryAllByRole('button')).toEqual([]);
  });
});
