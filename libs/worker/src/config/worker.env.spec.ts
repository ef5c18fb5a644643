import { availableParallelism } from 'node:os';
import { validateEnv } from '@app/config';
import { leaseProblem, WorkerEnv } from './worker.env';

describe('WorkerEnv: a lease a renewal can keep alive', () => {
  const validate = validateEnv(WorkerEnv);
  const errorOf = (raw: Record<string, string>) => {
    try {
      validate(raw);
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };

  it('boots with the defaults (30 s lease, 2 s command timeout)', () => {
    expect(validate({})).toMatchObject({ TASK_LEASE_MS: 30_000, REDIS_COMMAND_TIMEOUT_MS: 2000 });
  });

  it('refuses a TASK_LEASE_MS a renewal cannot land within, naming both variables and what to set', () => {
    const message = errorOf({ TASK_LEASE_MS: '3000', REDIS_COMMAND_TIMEOUT_MS: '2000' });
    expect(message).toContain('TASK_LEASE_MS=3000 is too short for REDIS_COMMAND_TIMEOUT_MS=2000');
    expect(message).toContain('Raise TASK_LEASE_MS to at least 3001');
    expect(message).toContain('or lower REDIS_COMMAND_TIMEOUT_MS to at most 1999');
    expect(errorOf({ TASK_LEASE_MS: '1000' })).toContain(
      'TASK_LEASE_MS=1000 is too short for REDIS_COMMAND_TIMEOUT_MS=2000',
    );
  });

  it('takes the shortest lease whose renewal (every third) plus the timeout stays under it', () => {
    expect(validate({ TASK_LEASE_MS: '3001', REDIS_COMMAND_TIMEOUT_MS: '2000' })).toMatchObject({
      TASK_LEASE_MS: 3001,
    });
    expect(validate({ TASK_LEASE_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: '600' })).toMatchObject({ TASK_LEASE_MS: 1000 });
    // Each suggestion is itself accepted, and one less is not.
    for (const [lease, timeout] of [
      [1000, 2000],
      [1500, 1000],
      [5000, 4000],
      [1000, 60_000],
    ]) {
      const problem = leaseProblem(lease, timeout)!;
      const minLease = Number(/at least (\d+)/.exec(problem)![1]);
      expect(leaseProblem(minLease, timeout)).toBeUndefined();
      expect(leaseProblem(minLease - 1, timeout)).toBeDefined();
      const maxTimeout = /at most (\d+)/.exec(problem)?.[1];
      if (maxTimeout) {
        expect(leaseProblem(lease, Number(maxTimeout))).toBeUndefined();
        expect(leaseProblem(lease, Number(maxTimeout) + 1)).toBeDefined();
      }
    }
  });
});

describe('WorkerEnv: the worker thread pool', () => {
  const validate = validateEnv(WorkerEnv);

  it("defaults to min(2, cores) threads with V8's own heap limit, and takes 0 (no thread-isolated type)", () => {
    expect(validate({})).toMatchObject({
      WORKER_THREADS: Math.min(2, availableParallelism()),
      WORKER_THREAD_MEMORY_MB: 0,
    });
    expect(validate({ WORKER_THREADS: '0', WORKER_THREAD_MEMORY_MB: '256' })).toMatchObject({
      WORKER_THREADS: 0,
      WORKER_THREAD_MEMORY_MB: 256,
    });
  });

  it('refuses a negative or fractional count, naming the variable', () => {
    expect(() => validate({ WORKER_THREADS: '-1' })).toThrow(/WORKER_THREADS/);
    expect(() => validate({ WORKER_THREADS: '1.5' })).toThrow(/WORKER_THREADS/);
    expect(() => validate({ WORKER_THREAD_MEMORY_MB: 'lots' })).toThrow(/WORKER_THREAD_MEMORY_MB/);
  });
});
