import { Command, CommanderError } from 'commander';
import { TaskqClient, TaskqClientOptions, TaskqHttpError, TaskqUnreachableError } from '@app/client';
import { CliDeps, CliExit, EXIT } from './command';
import { COMMANDS } from './commands';
import { CliIo } from './output';

export { EXIT } from './command';
export const DEFAULT_URL = 'http://127.0.0.1:8080';

interface Globals {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

/** How a command gets its client: a real TaskqClient, or a fake in the unit tests. */
export type Connect = (options: TaskqClientOptions) => TaskqClient;

/**
 * `taskq ...`: the CLI over TaskqClient. Returns the exit code; writes through `io` only, so it runs the same in
 * the built bin and in tests. The commands live in commands/*.ts, each registering itself on the program.
 */
export async function runCli(
  argv: string[],
  io: CliIo,
  env: Record<string, string | undefined>,
  connect: Connect = (options) => new TaskqClient(options),
): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('taskq')
    .description('Drive a taskq api from a shell: submit, inspect, cancel, requeue, pause, schedule.')
    .option('--url <url>', `the api (default: env TASKQ_URL, else ${DEFAULT_URL})`)
    // No commander default: --help would print the key.
    .option('--api-key <key>', 'an API key or JWT (default: env TASKQ_API_KEY)')
    .option('--json', 'print JSON instead of tables')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 a task that failed (--wait) or another error, 2 usage or input the api refused (400),\n' +
        '3 not found, 4 api unreachable.',
    );

  const globals = (command: Command) => command.optsWithGlobals<Globals>();
  const deps: CliDeps = {
    io,
    client: (command) => {
      const { url, apiKey } = globals(command);
      return connect({
        baseUrl: url || env.TASKQ_URL || DEFAULT_URL,
        apiKey: apiKey || env.TASKQ_API_KEY || undefined,
      });
    },
    json: (command) => Boolean(globals(command).json),
    print: (command, json, human) => io.out(globals(command).json ? `${JSON.stringify(json, null, 2)}\n` : human()),
    setExitCode: (exitCode) => {
      code = exitCode;
    },
  };
  for (const register of COMMANDS) register(program, deps);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    return exitCodeOf(error, io);
  }
}

/** Maps what ended a command to its exit code, and says why on stderr. */
function exitCodeOf(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander wrote its own message (and the help) already; help and version asked for are no error.
    return ['commander.helpDisplayed', 'commander.version'].includes(error.code) ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof CliExit) {
    io.err(`taskq: ${error.message}\n`);
    return error.code;
  }
  if (error instanceof TaskqUnreachableError) {
    io.err(`taskq: ${error.message}\n`);
    return EXIT.unreachable;
  }
  if (error instanceof TaskqHttpError) {
    const fields = (error.body?.errors ?? []).map((e) => `\n  ${e.field}: ${e.message} (${e.rule})`).join('');
    io.err(`taskq: ${error.status} ${error.body?.message ?? error.message}${fields}\n`);
    if (error.status === 404) return EXIT.notFound;
    return error.status === 400 ? EXIT.usage : EXIT.failed;
  }
  io.err(`taskq: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.failed;
}
