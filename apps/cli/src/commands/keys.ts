import { Command } from 'commander';
import { ApiKey } from '@app/client';
import { CliDeps, list } from '../command';
import { table } from '../output';

/** `taskq keys create|ls|revoke`: API keys (admin). */
export function register(program: Command, deps: CliDeps): void {
  const keys = program.command('keys').description('API keys (admin): create, ls, revoke');
  keys
    .command('create')
    .description('create a key; prints it (stdout) this once')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--scopes <scopes>', 'comma-separated: submit, read, admin', list)
    .option('--queues <queues>', 'comma-separated queues it is restricted to (default: every queue)', list)
    .action(async (options, command: Command) => {
      const created = await deps.client(command).createKey({
        name: options.name,
        scopes: options.scopes,
        ...(options.queues && { queues: options.queues }),
      });
      deps.print(command, created, () => `${created.key}\n`);
    });
  keys
    .command('ls')
    .description('every key (never its secret)')
    .action(async (_options, command: Command) => {
      const all: ApiKey[] = [];
      for await (const key of deps.client(command).keys()) all.push(key);
      deps.print(command, all, () =>
        table(
          ['id', 'name', 'scopes', 'queues', 'created_at'],
          all.map((k) => [k.id, k.name, k.scopes.join(','), k.queues?.join(',') ?? 'all', k.created_at]),
        ),
      );
    });
  keys
    .command('revoke')
    .description('revoke a key: refused everywhere within 0.5 s')
    .argument('<id>', 'the key id (tq_<id>_...)')
    .action(async (id: string, _options, command: Command) => {
      await deps.client(command).revokeKey(id);
      deps.print(command, { revoked: id }, () => `revoked ${id}\n`);
    });
}
