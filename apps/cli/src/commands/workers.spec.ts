import { runFake } from '../../test/run-cli';
import { sampleWorker } from '../../../../test/support/fake-client';

describe('taskq workers', () => {
  it('prints a row per live worker, native or HTTP', async () => {
    const worker = sampleWorker({ worker_id: 'w1', queues: ['a', 'b'], concurrency: 4, in_flight: 2 });
    const remote = sampleWorker({
      worker_id: 'py-1',
      kind: 'http',
      pid: 0,
      queues: ['py'],
      concurrency: 8,
      in_flight: 0,
    });
    const run = await runFake(['workers'], { workers: async () => [worker, remote] });
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^WORKER_ID\s+KIND\s+QUEUES\s+CONCURRENCY\s+IN_FLIGHT\s+LAST_SEEN$/),
      expect.stringMatching(/^w1\s+native\s+a,b\s+4\s+2\s+2026-01-02T03:04:05.000Z$/),
      expect.stringMatching(/^py-1\s+http\s+py\s+8\s+0\s+2026-01-02T03:04:05.000Z$/),
    ]);
  });
});
