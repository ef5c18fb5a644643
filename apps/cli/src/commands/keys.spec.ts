import { runFake } from '../../test/run-cli';
import { itemsOf, sampleKey } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq keys', () => {
  it('create sends the name, the scopes and the queues, and prints only the key', async () => {
    const key = 'tq_0123456789ab_secret';
    const run = await runFake(['keys', 'create', '--name', 'ops', '--scopes', 'read,admin', '--queues', 'a,b'], {
      createKey: async ({ name, scopes, queues }) => ({ ...sampleKey({ name, scopes, queues }), key }),
    });
    expect(run.fake.argsOf('createKey')).toEqual([[{ name: 'ops', scopes: ['read', 'admin'], queues: ['a', 'b'] }]]);
    expect([run.code, run.stdout]).toEqual([EXIT.ok, `${key}\n`]);
  });

  it('create sends --rate and --quota-tasks/--quota-bytes as the key’s own rate_limit and quota', async () => {
    const run = await runFake(
      ['keys', 'create', '--name', 'billing', '--scopes', 'submit', '--rate', '500/1s', '--quota-tasks', '1000000/1h'],
      { createKey: async ({ name }) => ({ ...sampleKey({ name }), key: 'tq_x' }) },
    );
    expect(run.fake.argsOf('createKey')).toEqual([
      [
        {
          name: 'billing',
          scopes: ['submit'],
          rate_limit: { max: 500, per_ms: 1000 },
          quota: { tasks: 1_000_000, per_seconds: 3600 },
        },
      ],
    ]);
    expect(run.code).toBe(EXIT.ok);
  });

  it('ls shows each key with its limits, "all" for one not limited to queues, "default" for no limit of its own; revoke takes its id', async () => {
    const keys = [
      sampleKey({ id: 'aaa', name: 'all-queues' }),
      sampleKey({
        id: 'bbb',
        name: 'two',
        queues: ['a', 'b'],
        rate_limit: { max: 500, per_ms: 1000 },
        quota: { tasks: 1_000_000, payload_bytes: 10 * 1024 ** 3, per_seconds: 3600 },
      }),
    ];
    const ls = await runFake(['keys', 'ls'], { keys: () => itemsOf(keys) });
    expect(ls.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^ID\s+NAME\s+SCOPES\s+QUEUES\s+RATE\s+QUOTA\s+CREATED_AT$/),
      expect.stringMatching(/^aaa\s+all-queues\s+read\s+all\s+default\s+default\s+\S+$/),
      expect.stringMatching(/^bbb\s+two\s+read\s+a,b\s+500\/1s\s+1000000 tasks\/1h, 10GiB\/1h\s+\S+$/),
    ]);
    const json = await runFake(['keys', 'ls', '--json'], { keys: () => itemsOf(keys) });
    expect(JSON.parse(json.stdout)[1]).toMatchObject({ rate_limit: { max: 500, per_ms: 1000 } });
    const revoke = await runFake(['keys', 'revoke', 'aaa'], { revokeKey: async () => undefined });
    expect([revoke.stdout, revoke.fake.argsOf('revokeKey')]).toEqual(['revoked aaa\n', [['aaa']]]);
  });

  it('set-limits sends only the limits given, "default" as null, and prints the key’s limits', async () => {
    const run = await runFake(['keys', 'set-limits', 'bbb', '--rate', 'default', '--quota-bytes', '10GiB/1h'], {
      updateKey: async (id, body) =>
        sampleKey({
          id,
          rate_limit: null,
          quota: { tasks: null, payload_bytes: body.quota!.payload_bytes!, per_seconds: 3600 },
        }),
    });
    expect(run.fake.argsOf('updateKey')).toEqual([
      ['bbb', { rate_limit: null, quota: { payload_bytes: 10 * 1024 ** 3, per_seconds: 3600 } }],
    ]);
    expect([run.code, run.stdout]).toEqual([EXIT.ok, 'bbb (reader): rate default, quota 10GiB/1h\n']);
  });

  it('refuses notation it cannot read, or set-limits without a limit, as a usage error, calling nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['keys', 'create', '--name', 'x', '--scopes', 'read', '--rate', '500'], /--rate must look like 500\/1s/],
      [['keys', 'set-limits', 'bbb', '--rate', '500/1w'], /window must be a whole number with ms, s, m, h or d/],
      [['keys', 'set-limits', 'bbb', '--quota-tasks', '5/1m', '--quota-bytes', '1MiB/1h'], /give both the same/],
      [['keys', 'set-limits', 'bbb'], /keys set-limits needs --rate, --quota-tasks or --quota-bytes/],
    ];
    for (const [argv, message] of cases) {
      const run = await runFake(argv);
      expect({ argv, code: run.code, calls: run.fake.calls }).toEqual({ argv, code: EXIT.usage, calls: [] });
      expect(run.stderr).toMatch(message);
    }
  });
});
