import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { TaskqClient, TaskqHttpError } from '@app/client';
import { fakeClient, itemsOf, sampleKey, sampleQueue, sampleWorker } from '../../../test/support/fake-client';
import { App } from './app';
import { KEY_STORAGE } from './context';

const refusal = (status: number, message: string) =>
  new TaskqHttpError(status, { statusCode: status, error: 'E', message }, 'GET', '/');

/** The console with a fake api: `admin-key` may manage keys, `read-key` may only read, anything else is refused. */
function openConsole() {
  const connected: string[] = [];
  const clients: Record<string, TaskqClient> = {
    'admin-key': fakeClient({
      queues: async () => [sampleQueue({ queue: 'mail' })],
      history: async () => [],
      keys: () => itemsOf([sampleKey()]),
      workers: async () => [sampleWorker({ worker_id: 'w1' })],
    }).client,
    'read-key': fakeClient({
      queues: async () => [sampleQueue({ queue: 'mail' })],
      history: async () => [],
      keys: () => itemsOf([], refusal(403, 'needs admin')),
    }).client,
  };
  const connect = (key: string) => {
    connected.push(key);
    const refused = async () => {
      throw refusal(401, 'unknown key');
    };
    return clients[key] ?? fakeClient({ queues: refused }).client;
  };
  render(<App connect={connect} />);
  return { connected };
}

const signIn = (key: string) => {
  fireEvent.input(screen.getByPlaceholderText('tq_...'), { target: { value: ` ${key} ` } });
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
};

describe('App: sign in, who the credential is, pages', () => {
  beforeEach(() => {
    sessionStorage.clear();
    location.hash = '';
  });

  it('asks for a key, keeps it in the session, and shows an admin the queues with their actions', async () => {
    const { connected } = openConsole();
    await screen.findByRole('heading', { name: 'Sign in' });
    signIn('admin-key');
    expect(await screen.findByText('admin')).toBeTruthy();
    expect(sessionStorage.getItem(KEY_STORAGE)).toBe('admin-key');
    expect(connected).toEqual(['', 'admin-key']);
    await screen.findByRole('button', { name: 'Pause' });
  });

  it('shows a credential that may not manage keys as read-only, without action buttons', async () => {
    sessionStorage.setItem(KEY_STORAGE, 'read-key');
    openConsole();
    expect(await screen.findByText('read-only')).toBeTruthy();
    await screen.findByText('mail');
    expect(screen.getAllByRole('button').map((b) => b.textContent)).toEqual(['Sign out']);
  });

  it('says why a key was refused, and signing out forgets the key', async () => {
    openConsole();
    signIn('wrong-key');
    await screen.findByText('401: unknown key');
    signIn('admin-key');
    fireEvent.click(await screen.findByRole('button', { name: 'Sign out' }));
    await screen.findByRole('heading', { name: 'Sign in' });
    expect(sessionStorage.getItem(KEY_STORAGE)).toBeNull();
  });

  it('shows the page the location names, and follows it', async () => {
    sessionStorage.setItem(KEY_STORAGE, 'admin-key');
    location.hash = '#/workers';
    openConsole();
    await screen.findByText('w1');
    expect(screen.getByRole('link', { name: 'Workers' }).className).toBe('current');
    location.hash = '#/queues';
    fireEvent(window, new HashChangeEvent('hashchange'));
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Queues' })).toBeTruthy());
  });
});
