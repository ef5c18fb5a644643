import { Command, InvalidArgumentError } from 'commander';
import { TaskqClient } from '@app/client';
import { CliIo } from './output';

/** Exit codes scripts can trust. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, unreachable: 4 } as const;

export const DEFAULT_WAIT_MS = 600_000;

/** Ends the command with this exit code and message (stderr). */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What a command module gets to do its work: the client for the command's --url and --api-key, the output, and
 * the run's exit code. Every command module exports `register(program, deps)` and is listed in commands/index.ts.
 */
export interface CliDeps {
  io: CliIo;
  /** A client for this command's --url and --api-key (else TASKQ_URL and TASKQ_API_KEY). */
  client(command: Command): TaskqClient;
  /** Whether --json was given. */
  json(command: Command): boolean;
  /** `json` as JSON with --json, else the text `human()` makes. */
  print(command: Command, json: unknown, human: () => string): void;
  /** The run ends with this code once the command has returned (a task that did not succeed). */
  setExitCode(code: number): void;
}

export type RegisterCommand = (program: Command, deps: CliDeps) => void;

/** A commander argument parser for an integer flag. */
export const integer = (name: string) => (value: string) => {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
  return Number(value);
};

/** A payload argument: JSON when it parses as JSON, else the text itself (`taskq submit email a@b.c`). */
export function payloadOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A comma-separated flag value. */
export const list = (value: string) => value.split(',').filter(Boolean);
