import { ConfigModule } from '@nestjs/config';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { masked, SharedEnv, validateEnv } from './env';

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
        '  REDIS_URL="localhost:6379": REDIS_URL must be a URL redis[s]://[[user]:password@]host[:port][/db]: it must start with redis:// or rediss://',
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
      'DATABASE_URL must be a URL postgres[ql]://[user[:password]@][host][:port][/database][?options]: it must start with postgres:// or postgresql://',
    );
    expect(
      validate({ RESULTS_BACKEND: 'postgres', DATABASE_URL: 'postgres://taskq:secret@db:5432/taskq' }),
    ).toMatchObject({ RESULTS_BACKEND: 'postgres' });
  });

  const errorOf = (raw: Record<string, unknown>): string => {
    try {
      validate(raw);
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };

  it('takes exactly one Redis: a URL, cluster nodes or sentinels', () => {
    expect(errorOf({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' })).toContain(
      'REDIS_URL and REDIS_CLUSTER_NODES are both set: give exactly one of REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS',
    );
    expect(errorOf({ REDIS_CLUSTER_NODES: 'b:7000', REDIS_SENTINELS: 'c:26379', REDIS_SENTINEL_NAME: 'm' })).toContain(
      'REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set',
    );
    expect(errorOf({ REDIS_CLUSTER_NODES: 'b:7000,c:7001' })).toBe('');
    expect(errorOf({ REDIS_SENTINELS: 'c:26379', REDIS_SENTINEL_NAME: 'mymaster' })).toBe('');
    // An empty value is unset (compose files and manifests often carry empty variables).
    expect(errorOf({ REDIS_URL: '', REDIS_CLUSTER_NODES: 'b:7000' })).toBe('');
  });

  it('needs the master group name with sentinels', () => {
    expect(errorOf({ REDIS_SENTINELS: 'c:26379' })).toContain(
      'REDIS_SENTINELS is set without REDIS_SENTINEL_NAME: name the master group the sentinels monitor',
    );
  });

  it('rejects malformed address lists and NAT maps, naming the variable', () => {
    const message = errorOf({ REDIS_CLUSTER_NODES: 'b', REDIS_CLUSTER_NAT_MAP: 'x:1-y:2' });
    expect(message).toContain('REDIS_CLUSTER_NODES="b": REDIS_CLUSTER_NODES must be host:port[,host:port...]');
    expect(message).toContain('REDIS_CLUSTER_NAT_MAP must be announced-host:port=reachable-host:port[,...]');
  });

  it('never shows a password in a configuration error', () => {
    const message = errorOf({ REDIS_URL: 'http://user:s3cret@host:6379', TASK_LEASE_MS: 'soon' });
    expect(message).toContain('REDIS_URL="http://***@host:6379"');
    expect(message).not.toContain('s3cret');
    expect(masked('REDIS_PASSWORD', 's3cret')).toBe('***');
    expect(masked('REDIS_SENTINEL_PASSWORD', 's3cret')).toBe('***');
    expect(masked('REDIS_URL', 'rediss://:s3cret@host:6380')).toBe('rediss://***@host:6380');
    // Cross-checks name variables, never values.
    expect(errorOf({ REDIS_URL: 'redis://:s3cret@a:6379', REDIS_CLUSTER_NODES: 'b:7000' })).not.toContain('s3cret');
  });

  it('lets an app boot with cluster nodes or sentinels after Nest wrote the defaults back to process.env', async () => {
    // The apps' order: ConfigModule.forRoot validates and copies every value, REDIS_URL's default
    // included, into process.env; main.ts then validates process.env again.
    for (const chosen of [
      { REDIS_CLUSTER_NODES: 'b:7000' },
      { REDIS_SENTINELS: 'c:26379', REDIS_SENTINEL_NAME: 'm' },
    ]) {
      const saved = process.env;
      process.env = { PATH: saved.PATH, ...chosen };
      try {
        await ConfigModule.forRoot({ ignoreEnvFile: true, validate });
        expect(() => validate(process.env)).not.toThrow();
        expect(process.env.REDIS_URL ?? '').toBe('');
      } finally {
        process.env = saved;
      }
    }
  });
});

describe('validateEnv: secrets', () => {
  const validate = validateEnv(SharedEnv);
  const dir = mkdtempSync(join(tmpdir(), 'taskq-env-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads any variable from <NAME>_FILE, without its trailing newline', () => {
    expect(
      validate({ REDIS_PASSWORD_FILE: file('pw', 's3cret\n'), REDIS_URL_FILE: file('url', 'redis://r:6379\n') }),
    ).toMatchObject({ REDIS_PASSWORD: 's3cret', REDIS_URL: 'redis://r:6379' });
  });

  it('refuses a variable given both ways, and a file it cannot read, naming the path but never the content', () => {
    const message = (() => {
      try {
        validate({ REDIS_PASSWORD: 'a', REDIS_PASSWORD_FILE: file('pw2', 'b'), REDIS_URL_FILE: join(dir, 'nope') });
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain('REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set');
    expect(message).toContain(`REDIS_URL_FILE="${join(dir, 'nope')}": cannot read it (ENOENT)`);
  });

  it('never prints a password: not of a bad REDIS_URL, not of a secret read from a file', () => {
    let message = '';
    try {
      validate({ REDIS_URL_FILE: file('bad', 'http://user:p@ss:w0rd@host:6379'), REDIS_COMMAND_TIMEOUT_MS: 'x' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('REDIS_URL="http://***@host:6379"');
    expect(message).not.toMatch(/p@ss|w0rd|user:/);
  });

  it('parses URLs whole at boot and never shows a password of one that does not parse', () => {
    const cases: [Record<string, string>, string, string][] = [
      // The port is not a number: this one used to pass a prefix check and reach ioredis, whose error
      // (printed with its stack) carried the raw URL.
      [
        { REDIS_URL: 'redis://:pw-one@127.0.0.1:notaport' },
        'REDIS_URL="redis://***@127.0.0.1:notaport"',
        'it does not parse as a URL',
      ],
      [{ REDIS_URL: 'redis://:pw-two@127.0.0.1:99999' }, 'REDIS_URL="redis://***@127.0.0.1:99999"', 'a port'],
      [{ REDIS_URL: 'redis://:pw-three' }, 'REDIS_URL="redis://***"', 'it does not parse as a URL'],
      [{ REDIS_URL: 'redis://:p%ZZw-four@h:1' }, 'REDIS_URL="redis://***@h:1"', 'malformed percent-encoding'],
      [{ REDIS_URL: 'redis://h:1/zero?password=pw-five' }, 'REDIS_URL="redis://h:1/zero?***"', 'a database number'],
      // No "://": the whole credential used to be shown.
      [
        { RESULTS_BACKEND: 'postgres', DATABASE_URL: 'postgres:user:pw-six@db/taskq' },
        'DATABASE_URL="***@db/taskq"',
        'it must start with postgres:// or postgresql://',
      ],
      [
        { RESULTS_BACKEND: 'postgres', DATABASE_URL: 'postgres://user:pw-seven@db:port/taskq' },
        'DATABASE_URL="postgres://***@db:port/taskq"',
        'it does not parse as a URL',
      ],
    ];
    for (const [raw, shown, reason] of cases) {
      const message = (() => {
        try {
          validate(raw);
        } catch (error) {
          return (error as Error).message;
        }
        return 'no error';
      })();
      expect({ raw, shown: message.includes(shown), reason: message.includes(reason) }).toEqual({
        raw,
        shown: true,
        reason: true,
      });
      expect(message).not.toMatch(/pw-/);
    }
    expect(validate({ REDIS_URL: 'rediss://user:p%40ss@[::1]:6380/2' })).toMatchObject({
      REDIS_URL: 'rediss://user:p%40ss@[::1]:6380/2',
    });
    expect(
      validate({ RESULTS_BACKEND: 'postgres', DATABASE_URL: 'postgresql:///taskq?host=/var/run/postgresql' }),
    ).toMatchObject({ DATABASE_URL: 'postgresql:///taskq?host=/var/run/postgresql' });
  });

  it('masks secrets and URL credentials', () => {
    expect(masked('REDIS_PASSWORD', 'x')).toBe('***');
    expect(masked('JWT_SECRET', 'x')).toBe('***');
    expect(masked('BOOTSTRAP_ADMIN_KEY', 'tq_x')).toBe('***');
    expect(masked('REDIS_URL', 'rediss://:pa:ss@h:1/0')).toBe('rediss://***@h:1/0');
    expect(masked('REDIS_URL', 'redis://h:1')).toBe('redis://h:1');
    expect(masked('DATABASE_URL', 'postgres:u:pw@db/x')).toBe('***@db/x');
    expect(masked('DATABASE_URL', 'postgres://db/x?sslpassword=pw')).toBe('postgres://db/x?***');
    expect(masked('REDIS_URL', 'redis://:pw')).toBe('redis://***');
    expect(masked('REDIS_CLUSTER_NODES', 'b')).toBe('b');
  });
});
