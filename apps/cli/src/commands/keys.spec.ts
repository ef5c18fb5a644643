import { runFake } from '../../test/run-cli';
import { itemsOf, sampleKey } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq keys', () => {
  it('create sends the name, the scopes and the queues, and prints only the key', async () => {
    const key = 'tq_0123456789ab_secret';
    const run = await runFake(['keys', 'create', '--name', 'ops', '--scopes', 'read,admin', '--queues', 'a,b'], {
      createKey: async (body) => ({ ...sampleKey(body), key }),
    });
    expect(run.fake.argsOf('createKey')).toEqual([[{ name: 'ops', scopes: ['read', 'admin'], queues: ['a', 'b'] }]]);
    expect([run.code, run.stdout]).toEqual([EXIT.ok, `${key}\n`]);
  });

  it('ls shows each key, "all" for one not limited to queues; revoke takes its id', async () => {
    const keys = [
      sampleKey({ id: 'aaa', name: 'all-queues' }),
      sampleKey({ id: 'bbb', name: 'two', queues: ['a', 'b'] }),
    ];
    const ls = await runFake(['keys', 'ls'], { keys: () => itemsOf(keys) });
    expect(ls.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^ID\s+NAME\s+SCOPES\s+QUEUES\s+CREATED_AT$/),
      expect.stringMatching(/^aaa\s+all-queues\s+read\s+all\s+\S+$/),
      expect.stringMatching(/^bbb\s+two\s+read\s+a,b\s+\S+$/),
    ]);
    const revoke = await runFake(['keys', 'revoke', 'aaa'], { revokeKey: async () => undefined });
    expect([revoke.stdout, revoke.fake.argsOf('revokeKey')]).toEqual(['revoked aaa\n', [['aaa']]]);
  });
});
