import { http, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(60_000);

/** A renamed variable's old name still works for one release, and both built apps say so at boot. */
describe('QUEUE_IDLE_TTL, the old name of QUEUE_UNSERVED_AFTER_MS', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack({ QUEUE_IDLE_TTL: '1' });
    await stack.startApi();
  });
  afterAll(() => stack.stop());

  const deprecationWarnings = (lines: Record<string, unknown>[]) =>
    lines.filter((line) => line.level === 40 && String(line.msg).startsWith('QUEUE_IDLE_TTL is deprecated'));

  it('still sets the threshold (in seconds), and the api and the worker warn at boot naming the new variable', async () => {
    await stack.submitOk({ task_type: 'echo', payload: 1, queue: 'orphan' });
    // 1 s, not the 15 min default: the old name took effect.
    await waitFor(async () => (await http('GET', `${stack.api.url}/queues/orphan`)).body.unserved, {
      what: 'orphan to be unserved after 1 s',
    });
    const worker = await stack.startWorker({ WORKER_QUEUES: 'default' });
    for (const app of [stack.api, worker]) {
      expect(deprecationWarnings(app.logs(() => true))).toEqual([
        expect.objectContaining({ msg: expect.stringContaining('set QUEUE_UNSERVED_AFTER_MS=1000 instead') }),
      ]);
    }
  });
});
