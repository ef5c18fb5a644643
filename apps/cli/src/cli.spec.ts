import { TaskqHttpError, TaskqUnreachableError } from '@app/client';
import { runFake } from '../test/run-cli';
import { sampleQueue } from '../../../test/support/fake-client';
import { DEFAULT_URL, EXIT } from './cli';

describe('runCli: global flags, the client it connects, exit codes', () => {
  it('connects to --url with --api-key, else to TASKQ_URL with TASKQ_API_KEY, else to the default url', async () => {
    const answers = { queues: async () => [] };
    const env = { TASKQ_URL: 'http://env:1', TASKQ_API_KEY: 'env-key' };
    const flags = await runFake(['--url', 'http://flag:2', '--api-key', 'flag-key', 'queues'], answers, { env });
    expect(flags.fake.connections).toEqual([{ baseUrl: 'http://flag:2', apiKey: 'flag-key' }]);
    expect((await runFake(['queues'], answers, { env })).fake.connections).toEqual([
      { baseUrl: 'http://env:1', apiKey: 'env-key' },
    ]);
    expect((await runFake(['queues'], answers)).fake.connections).toEqual([
      { baseUrl: DEFAULT_URL, apiKey: undefined },
    ]);
  });

  it('--help lists every command and the exit codes, and exits 0 without a request', async () => {
    const run = await runFake(['--help']);
    expect(run.code).toBe(EXIT.ok);
    const commands = [
      'submit',
      'get',
      'ls',
      'cancel',
      'dlq',
      'queues',
      'pause',
      'resume',
      'workers',
      'schedules',
      'keys',
    ];
    for (const command of commands) expect(run.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    expect(run.stdout).toContain('3 not found, 4 api unreachable');
    expect(run.fake.calls).toEqual([]);
  });

  it('exits 2 for an unknown command or a missing argument, before any request', async () => {
    for (const argv of [['bogus'], ['get'], ['dlq', 'purge'], ['keys', 'create', '--name', 'x']]) {
      const run = await runFake(argv);
      expect([argv, run.code, run.fake.connections]).toEqual([argv, EXIT.usage, []]);
      expect(run.stderr).toMatch(/^error: /);
    }
  });

  it.each([
    [400, EXIT.usage],
    [401, EXIT.failed],
    [403, EXIT.failed],
    [404, EXIT.notFound],
    [409, EXIT.failed],
    [503, EXIT.failed],
  ])('an api answer %p exits %p and says why on stderr', async (status, code) => {
    const run = await runFake(['queues'], {
      queues: async () => {
        throw new TaskqHttpError(status, { statusCode: status, error: 'E', message: 'the reason' }, 'GET', '/queues');
      },
    });
    expect([run.code, run.stdout, run.stderr]).toEqual([code, '', `taskq: ${status} the reason\n`]);
  });

  it('a 400 lists each field the api named, with its rule', async () => {
    const body = {
      statusCode: 400,
      error: 'Bad Request',
      message: 'invalid body',
      errors: [{ field: 'priority', rule: 'maximum', message: 'must be <= 100' }],
    };
    const run = await runFake(['queues'], {
      queues: async () => {
        throw new TaskqHttpError(400, body, 'GET', '/queues');
      },
    });
    expect([run.code, run.stderr]).toEqual([
      EXIT.usage,
      'taskq: 400 invalid body\n  priority: must be <= 100 (maximum)\n',
    ]);
  });

  it('exits 4 when nothing answers, and 1 for any other error', async () => {
    const down = await runFake(['queues'], {
      queues: async () => {
        throw new TaskqUnreachableError('http://127.0.0.1:1', new Error('connect ECONNREFUSED'));
      },
    });
    expect([down.code, down.stderr]).toEqual([
      EXIT.unreachable,
      'taskq: taskq api unreachable at http://127.0.0.1:1: connect ECONNREFUSED\n',
    ]);
    const broken = await runFake(['queues'], {
      queues: async () => {
        throw new Error('something else');
      },
    });
    expect([broken.code, broken.stderr]).toEqual([EXIT.failed, 'taskq: something else\n']);
  });

  it('--json prints the answer as JSON, before or after the command', async () => {
    const queues = [sampleQueue({ queue: 'q1' })];
    for (const argv of [
      ['--json', 'queues'],
      ['queues', '--json'],
    ]) {
      const run = await runFake(argv, { queues: async () => queues });
      expect([run.code, JSON.parse(run.stdout)]).toEqual([EXIT.ok, queues]);
    }
  });
});
