import { SharedEnv, validateEnv } from './env';

describe('validateEnv', () => {
  const validate = validateEnv(SharedEnv);

  it('applies every default when nothing is set', () => {
    expect(validate({})).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'taskq',
      TASK_LEASE_MS: 30_000,
      DEMO_TASKS: true,
    });
  });

  it('converts numbers and booleans from strings', () => {
    expect(validate({ TASK_LEASE_MS: '5000', DEMO_TASKS: 'false' })).toMatchObject({
      TASK_LEASE_MS: 5000,
      DEMO_TASKS: false,
    });
  });

  it('lists every bad variable with its rule in one readable error', () => {
    let message = '';
    try {
      validate({ TASK_LEASE_MS: 'soon', REDIS_URL: 'localhost:6379', QUEUE_PREFIX: 'a{b}' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n').sort()).toEqual(
      [
        'Invalid configuration:',
        '  TASK_LEASE_MS="soon": TASK_LEASE_MS must be an integer number',
        '  REDIS_URL="localhost:6379": REDIS_URL must be a redis:// or rediss:// URL',
        '  QUEUE_PREFIX="a{b}": QUEUE_PREFIX must be 1-64 chars of [A-Za-z0-9_.:-] (no braces: they would break the {queue} hash tag)',
        'Fix these environment variables and start again.',
      ].sort(),
    );
  });

  it('needs DATABASE_URL for the postgres result store, and a postgres URL in it', () => {
    expect(validate({})).toMatchObject({ RESULTS_BACKEND: 'redis', DATABASE_URL: '' });
    expect(() => validate({ RESULTS_BACKEND: 'postgres' })).toThrow(
      'RESULTS_BACKEND=postgres needs DATABASE_URL: the PostgreSQL to write finished tasks to',
    );
    expect(() => validate({ RESULTS_BACKEND: 'mysql' })).toThrow(
      /RESULTS_BACKEND="mysql": RESULTS_BACKEND must be one of/,
    );
    expect(() => validate({ RESULTS_BACKEND: 'postgres', DATABASE_URL: 'mysql://x' })).toThrow(
      'DATABASE_URL must be a postgres:// or postgresql:// URL',
    );
    expect(
      validate({ RESULTS_BACKEND: 'postgres', DATABASE_URL: 'postgres://taskq:secret@db:5432/taskq' }),
    ).toMatchObject({ RESULTS_BACKEND: 'postgres' });
  });
});
