import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { PutTaskType } from '@app/client';
import { CliDeps, CliExit, EXIT, integer } from '../command';
import { table } from '../output';

/** A JSON Schema flag: inline JSON, or `@file` for a file's. */
function schemaOf(value: string): unknown {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (error) {
      throw new CliExit(EXIT.usage, `--schema ${value}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliExit(EXIT.usage, `--schema is not JSON: ${(error as Error).message}`);
  }
}

/** `taskq types ls|show|put|rm`: the task types the api accepts, and those defined at run time. */
export function register(program: Command, deps: CliDeps): void {
  const types = program.command('types').description('task types: ls, show, put (define at run time), rm');
  types
    .command('ls')
    .description('every task type the api accepts: those in code, then those defined at run time')
    .action(async (_options, command: Command) => {
      const all = await deps.client(command).taskTypes();
      deps.print(command, all, () =>
        table(
          ['name', 'source', 'queue', 'max_retries', 'timeout_ms', 'description'],
          all.map((t) => [t.name, t.source, t.queue, t.max_retries, t.timeout_ms, t.description]),
        ),
      );
    });
  types
    .command('show')
    .description('one task type, with its payload schema when defined at run time')
    .argument('<name>', 'the task type')
    .action(async (name: string, _options, command: Command) => {
      const type = await deps.client(command).taskType(name);
      deps.print(command, type, () => `${JSON.stringify(type, null, 2)}\n`);
    });
  types
    .command('put')
    .description('define or replace a task type at run time (admin): its payload schema and defaults')
    .argument('<name>', 'the task type')
    .requiredOption('--schema <json|@file>', 'its payload JSON Schema (2020-12), inline or @file')
    .option('--queue <queue>', 'the queue its tasks go to when a submit names none')
    .option('--max-retries <n>', 'its max_retries', integer('--max-retries'))
    .option('--timeout <ms>', 'its timeout_ms', integer('--timeout'))
    .option(
      '--backoff-base <ms>',
      'its retry curve: the first delay (exponential, full jitter)',
      integer('--backoff-base'),
    )
    .option('--backoff-max <ms>', 'its retry curve: the cap on a delay', integer('--backoff-max'))
    .option('--description <text>', 'what it does')
    .action(async (name: string, options, command: Command) => {
      if (options.backoffMax !== undefined && options.backoffBase === undefined) {
        throw new CliExit(EXIT.usage, '--backoff-max needs --backoff-base');
      }
      const body: PutTaskType = {
        payload_schema: schemaOf(options.schema),
        ...(options.queue !== undefined && { queue: options.queue }),
        ...(options.maxRetries !== undefined && { max_retries: options.maxRetries }),
        ...(options.timeout !== undefined && { timeout_ms: options.timeout }),
        ...(options.backoffBase !== undefined && {
          backoff: {
            base_ms: options.backoffBase,
            ...(options.backoffMax !== undefined && { max_ms: options.backoffMax }),
          },
        }),
        ...(options.description !== undefined && { description: options.description }),
      };
      const type = await deps.client(command).putTaskType(name, body);
      deps.print(command, type, () => `defined ${type.name} (queue ${type.queue})\n`);
    });
  types
    .command('rm')
    .description('delete a task type defined at run time (its tasks stay; submits of it are refused)')
    .argument('<name>', 'the task type')
    .action(async (name: string, _options, command: Command) => {
      await deps.client(command).deleteTaskType(name);
      deps.print(command, { deleted: name }, () => `deleted ${name}\n`);
    });
}
