import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFake } from '../../test/run-cli';
import { sampleTaskType } from '../../../../test/support/fake-client';
import { EXIT } from '../command';

describe('taskq types', () => {
  it('ls shows code and runtime types with their queue and settings', async () => {
    const all = [
      sampleTaskType({ name: 'email', source: 'code', queue: 'default', max_retries: 5, description: 'Sends mail' }),
      sampleTaskType(),
    ];
    const run = await runFake(['types', 'ls'], { taskTypes: async () => all });
    const rows = run.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^NAME\s+SOURCE\s+QUEUE\s+MAX_RETRIES\s+TIMEOUT_MS\s+DESCRIPTION$/);
    expect(rows[1]).toMatch(/^email\s+code\s+default\s+5\s+60000\s+Sends mail$/);
    expect(rows[2]).toMatch(/^py\.upper\s+runtime\s+py\s+3\s+60000\s+Upper-cases text$/);
  });

  it('put sends the schema (inline or @file) and only the settings given', async () => {
    const schema = { type: 'object', properties: { text: { type: 'string' } } };
    const file = join(mkdtempSync(join(tmpdir(), 'taskq-cli-')), 'schema.json');
    writeFileSync(file, JSON.stringify(schema));
    const answer = async () => sampleTaskType();
    const fromFile = await runFake(
      ['types', 'put', 'py.upper', '--schema', `@${file}`, '--queue', 'py', '--backoff-base', '500'],
      { putTaskType: answer },
    );
    expect(fromFile).toMatchObject({ code: 0, stdout: 'defined py.upper (queue py)\n' });
    expect(fromFile.fake.argsOf('putTaskType')).toEqual([
      ['py.upper', { payload_schema: schema, queue: 'py', backoff: { base_ms: 500 } }],
    ]);
    const inline = await runFake(
      ['types', 'put', 'py.upper', '--schema', 'true', '--max-retries', '0', '--timeout', '5000', '--description', 'd'],
      { putTaskType: answer },
    );
    expect(inline.fake.argsOf('putTaskType')).toEqual([
      ['py.upper', { payload_schema: true, max_retries: 0, timeout_ms: 5000, description: 'd' }],
    ]);
  });

  it('refuses a schema that is not JSON, a missing file and --backoff-max alone before any request', async () => {
    for (const args of [
      ['--schema', '{not json'],
      ['--schema', '@/nowhere/schema.json'],
      ['--schema', 'true', '--backoff-max', '100'],
    ]) {
      const run = await runFake(['types', 'put', 'py.upper', ...args]);
      expect([args, run.code, run.fake.calls]).toEqual([args, EXIT.usage, []]);
      expect(run.stderr).not.toBe('');
    }
  });

  it('show prints the type whole; rm deletes it', async () => {
    const shown = await runFake(['types', 'show', 'py.upper'], { taskType: async () => sampleTaskType() });
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'py.upper', payload_schema: { required: ['text'] } });
    const removed = await runFake(['types', 'rm', 'py.upper'], { deleteTaskType: async () => undefined });
    expect(removed).toMatchObject({ code: 0, stdout: 'deleted py.upper\n' });
    expect(removed.fake.argsOf('deleteTaskType')).toEqual([['py.upper']]);
  });
});
