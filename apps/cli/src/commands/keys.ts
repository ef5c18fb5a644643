import { Command } from 'commander';
import {
  ApiKey,
  formatQuota,
  formatRate,
  LimitNotationError,
  parseQuota,
  parseRate,
  QuotaBody,
  RateLimitBody,
} from '@app/client';
import { CliDeps, CliExit, EXIT, list } from '../command';
import { table } from '../output';

/**
 * The limit flags as the api's rate_limit and quota: undefined when not given, null for `default`. Bad
 * notation is a usage error. (Parsed here, not by commander: it turns a parser's null into ''.)
 */
function limitsOf(options: { rate?: string; quotaTasks?: string; quotaBytes?: string }): {
  rate_limit?: RateLimitBody | null;
  quota?: QuotaBody | null;
} {
  try {
    const quota = parseQuota(options.quotaTasks, options.quotaBytes);
    return {
      ...(options.rate !== undefined && { rate_limit: parseRate(options.rate) }),
      ...(quota !== undefined && { quota }),
    };
  } catch (error) {
    if (error instanceof LimitNotationError) throw new CliExit(EXIT.usage, error.message);
    throw error;
  }
}

/** The limit flags of `keys create` and `keys set-limits`. */
function withLimitFlags(command: Command, absent: string): Command {
  return command
    .option('--rate <max/window>', `its own rate limit, e.g. 500/1s (ms, s, m, h, d); ${absent}`)
    .option('--quota-tasks <count/window>', `its own quota of tasks, e.g. 1000000/1h; ${absent}`)
    .option('--quota-bytes <size/window>', `its own quota of payload bytes, e.g. 10GiB/1h (same window); ${absent}`);
}

/** `rate 500/1s, quota 1000000 tasks/1h`, the defaults named as such. */
const describeLimits = (key: ApiKey) => `rate ${formatRate(key.rate_limit)}, quota ${formatQuota(key.quota)}`;

/** `taskq keys create|ls|set-limits|revoke`: API keys (admin). */
export function register(program: Command, deps: CliDeps): void {
  const keys = program.command('keys').description('API keys (admin): create, ls, set-limits, revoke');
  withLimitFlags(
    keys
      .command('create')
      .description('create a key; prints it (stdout) this once')
      .requiredOption('--name <name>', 'what the key is for')
      .requiredOption('--scopes <scopes>', 'comma-separated: submit, read, work, admin', list)
      .option('--queues <queues>', 'comma-separated queues it is restricted to (default: every queue)', list),
    'default: RATE_LIMIT_MAX / QUOTA_* of the api',
  ).action(async (options, command: Command) => {
    const limits = limitsOf(options);
    const created = await deps.client(command).createKey({
      name: options.name,
      scopes: options.scopes,
      ...(options.queues && { queues: options.queues }),
      ...limits,
    });
    deps.print(command, created, () => `${created.key}\n`);
  });
  keys
    .command('ls')
    .description('every key (never its secret) with its limits')
    .action(async (_options, command: Command) => {
      const all: ApiKey[] = [];
      for await (const key of deps.client(command).keys()) all.push(key);
      deps.print(command, all, () =>
        table(
          ['id', 'name', 'scopes', 'queues', 'rate', 'quota', 'created_at'],
          all.map((k) => [
            k.id,
            k.name,
            k.scopes.join(','),
            k.queues?.join(',') ?? 'all',
            formatRate(k.rate_limit),
            formatQuota(k.quota),
            k.created_at,
          ]),
        ),
      );
    });
  withLimitFlags(
    keys
      .command('set-limits')
      .description("change a key's own rate limit and quota: every api replica applies them within a second")
      .argument('<id>', 'the key id (tq_<id>_...)'),
    'left out: unchanged; "default": its own removed, the default applies',
  ).action(async (id: string, options, command: Command) => {
    const limits = limitsOf(options);
    if (!Object.keys(limits).length) {
      throw new CliExit(EXIT.usage, 'keys set-limits needs --rate, --quota-tasks or --quota-bytes');
    }
    const key = await deps.client(command).updateKey(id, limits);
    deps.print(command, key, () => `${key.id} (${key.name}): ${describeLimits(key)}\n`);
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
