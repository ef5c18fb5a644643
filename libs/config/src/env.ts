import { readFileSync } from 'node:fs';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, Matches, Max, Min, validateSync } from 'class-validator';

/** `host:port,host:port,...` (empty allowed: the setting is off). */
const ADDRESS_LIST = /^([^,\s]+:\d{1,5}(,[^,\s]+:\d{1,5})*)?$/;

/** Env values are strings: whole numbers become numbers; anything else is left for the validator to reject. */
export const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
/** `true/1/yes/on` and `false/0/no/off`, any case. */
export const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  return ['true', '1', 'yes', 'on'].includes(v) ? true : ['false', '0', 'no', 'off'].includes(v) ? false : value;
};

/**
 * Environment shared by both apps: Redis, queue semantics, logging. Every variable has a default;
 * README.md's configuration table lists the same names and defaults.
 */
export class SharedEnv {
  /** One Redis node. The default unless REDIS_CLUSTER_NODES or REDIS_SENTINELS is set. */
  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** A Redis Cluster: seed nodes `host:port,host:port,...`. */
  @IsString()
  @Matches(ADDRESS_LIST, { message: 'REDIS_CLUSTER_NODES must be host:port[,host:port...]' })
  REDIS_CLUSTER_NODES = '';

  /** Sentinels `host:port,...` that know the master named REDIS_SENTINEL_NAME. */
  @IsString()
  @Matches(ADDRESS_LIST, { message: 'REDIS_SENTINELS must be host:port[,host:port...]' })
  REDIS_SENTINELS = '';

  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{0,128}$/, { message: 'REDIS_SENTINEL_NAME must be the master group name, e.g. mymaster' })
  REDIS_SENTINEL_NAME = '';

  /** ACL user and password for cluster nodes and Sentinel masters (REDIS_URL carries its own). */
  @IsString()
  REDIS_USERNAME = '';

  @IsString()
  REDIS_PASSWORD = '';

  @IsString()
  REDIS_SENTINEL_PASSWORD = '';

  /** TLS to cluster nodes and Sentinel masters (REDIS_URL says it with rediss://). */
  @Transform(toBool)
  @IsBoolean()
  REDIS_TLS = false;

  /** A cluster behind NAT: `announced-host:port=reachable-host:port,...`. */
  @IsString()
  @Matches(/^([^,=\s]+:\d{1,5}=[^,=\s]+:\d{1,5}(,[^,=\s]+:\d{1,5}=[^,=\s]+:\d{1,5})*)?$/, {
    message: 'REDIS_CLUSTER_NAT_MAP must be announced-host:port=reachable-host:port[,...]',
  })
  REDIS_CLUSTER_NAT_MAP = '';

  /** Replicas a submit waits for (WAIT) before it answers 202; 0 = do not wait. */
  @Transform(toInt)
  @Max(16)
  @Min(0)
  @IsInt()
  REDIS_WAIT_REPLICAS = 0;

  @Transform(toInt)
  @Max(60_000)
  @Min(1)
  @IsInt()
  REDIS_WAIT_TIMEOUT_MS = 500;

  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,64}$/, {
    message: 'QUEUE_PREFIX must be 1-64 chars of [A-Za-z0-9_.:-] (no braces: they would break the {queue} hash tag)',
  })
  QUEUE_PREFIX = 'taskq';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Transform(toInt)
  @Max(3_600_000)
  @Min(1000)
  @IsInt()
  TASK_LEASE_MS = 30_000;

  @Transform(toInt)
  @Max(365 * 24 * 3600)
  @Min(0)
  @IsInt()
  RESULT_TTL_SECONDS = 86_400;

  @Transform(toInt)
  @Max(1000)
  @Min(0)
  @IsInt()
  MAX_RECOVERIES = 5;

  @Transform(toInt)
  @Min(0)
  @IsInt()
  DLQ_MAX_SIZE = 0;

  /** How long an idempotency key (Idempotency-Key, idempotency_key) is remembered. */
  @Transform(toInt)
  @Max(30 * 86_400)
  @Min(1)
  @IsInt()
  IDEMPOTENCY_TTL_SECONDS = 86_400;

  /** Most queues that may exist; a submit that would create one more gets 409. 0 = no cap. */
  @Transform(toInt)
  @Max(100_000)
  @Min(0)
  @IsInt()
  MAX_QUEUES = 200;

  @Transform(toInt)
  @Max(60_000)
  @Min(100)
  @IsInt()
  REDIS_COMMAND_TIMEOUT_MS = 2000;

  @Transform(toInt)
  @Max(100)
  @Min(0)
  @IsInt()
  DEFAULT_MAX_RETRIES = 3;

  @Transform(toInt)
  @Max(86_400_000)
  @Min(1)
  @IsInt()
  DEFAULT_TIMEOUT_MS = 60_000;

  @Transform(toBool)
  @IsBoolean()
  DEMO_TASKS = true;

  /**
   * Where finished tasks live: `redis` (their hashes, kept RESULT_TTL_SECONDS) or `postgres` (written
   * behind to DATABASE_URL by the workers, then dropped from Redis; see docs/adr/0007-result-store.md).
   */
  @IsIn(['redis', 'postgres'])
  RESULTS_BACKEND: 'redis' | 'postgres' = 'redis';

  /** PostgreSQL of the result store (RESULTS_BACKEND=postgres), e.g. postgres://user:pass@host:5432/taskq. */
  @IsString()
  @Matches(/^(postgres(ql)?:\/\/\S+)?$/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL = '';

  /**
   * The PostgreSQL password, when it is kept out of DATABASE_URL (a secret file: DATABASE_PASSWORD_FILE).
   * Set, it wins over a password in the URL.
   */
  @IsString()
  DATABASE_PASSWORD = '';

  /**
   * Ms queued tasks may wait in a queue that no worker has served (claimed from, or swept by its
   * recoverer) before the queue is reported unserved: `unserved` in GET /queues, the queue_unserved
   * gauge and the TaskqQueueUnserved alert. Nothing is dropped. Formerly QUEUE_IDLE_TTL, in seconds
   * (see RENAMED_VARIABLES).
   */
  @Transform(toInt)
  @Max(30 * 86_400_000)
  @Min(1000)
  @IsInt()
  QUEUE_UNSERVED_AFTER_MS = 900_000;

  /** The fault-injection task pack (`chaos`), for the fault suite only; never on in production. */
  @Transform(toBool)
  @IsBoolean()
  FAULT_TASKS = false;
}

/** A variable renamed in this release: its old name is still read for one release, with a warning at boot. */
export interface RenamedVariable {
  old: string;
  current: string;
  /** Why the name changed, for the warning. */
  why: string;
  /** The old value as the new variable's value, or undefined when it is not one (it is then refused). */
  convert: (value: string) => string | undefined;
  /** What the old variable had to be, for the refusal. */
  oldRule: string;
}

export const RENAMED_VARIABLES: readonly RenamedVariable[] = [
  {
    old: 'QUEUE_IDLE_TTL',
    current: 'QUEUE_UNSERVED_AFTER_MS',
    why: 'it expires nothing: it is how long queued tasks may wait in a queue no worker serves before the queue is reported unserved',
    convert: (seconds) => (/^\s*\d+\s*$/.test(seconds) ? String(Number(seconds) * 1000) : undefined),
    oldRule: 'a whole number of seconds',
  },
];

const isGiven = (value: unknown) => typeof value === 'string' && value.trim() !== '';

/**
 * The warnings an operator gets at boot for the renamed variables `input` (process.env) still uses.
 * Nest's ConfigModule writes the validated values back into process.env when the app module is
 * imported, so by the time main.ts asks, the new name may hold the value converted from the old one:
 * that counts as the old name in use, and only a different value as both given.
 */
export function deprecationWarnings(input: Record<string, unknown>): string[] {
  const names = RENAMED_VARIABLES.flatMap(({ old, current }) => [old, current]);
  const { raw } = withFileVariables(input, names);
  const warnings: string[] = [];
  for (const { old, current, why, convert } of RENAMED_VARIABLES) {
    if (!isGiven(raw[old])) continue;
    const converted = convert(String(raw[old]));
    warnings.push(
      isGiven(raw[current]) && String(raw[current]).trim() !== converted
        ? `${old} is ignored: ${current} is set, and wins. Remove ${old}; it is the old name of ${current}, read for one release only.`
        : `${old} is deprecated and read for one release only (${why}): set ${current}=${converted ?? '…'} instead.`,
    );
  }
  return warnings;
}

/** Maps each renamed variable's old name to its new one (when the new one is not given); problems for bad old values. */
function withRenamedVariables(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const { old, current, convert, oldRule } of RENAMED_VARIABLES) {
    if (!isGiven(raw[old]) || isGiven(raw[current])) continue;
    const converted = convert(String(raw[old]));
    if (converted === undefined) {
      problems.push(`${old}=${JSON.stringify(raw[old])}: must be ${oldRule} (or set ${current} instead, its new name)`);
    } else {
      raw[current] = converted;
    }
  }
  return problems;
}

/** An env class may add rules between its own variables (checked after each one passed its own rules). */
export interface EnvClass<T> {
  new (): T;
  crossChecks?: (env: T) => string[];
}

/**
 * Validates process.env against an env class once, at boot. On a bad value it throws one error
 * listing every variable and rule broken, so the process exits with a readable message.
 *
 * Every variable may instead be read from a file: `<NAME>_FILE=/run/secrets/x` (Docker and
 * Kubernetes secrets), with trailing newlines dropped. Giving both is an error.
 */
export function validateEnv<T extends object>(envClass: EnvClass<T>) {
  return (input: Record<string, unknown>): T => {
    const known = Object.keys(new envClass());
    const renamed = RENAMED_VARIABLES.filter(({ current }) => known.includes(current)).map(({ old }) => old);
    const { raw, problems: fileProblems } = withFileVariables(input, [...known, ...renamed]);
    fileProblems.push(...withRenamedVariables(raw));
    if (fileProblems.length) throw invalid(fileProblems);
    const present = Object.fromEntries(
      known.filter((key) => raw[key] !== undefined && raw[key] !== '').map((key) => [key, raw[key]]),
    );
    const env = plainToInstance(envClass, present, { exposeDefaultValues: true });
    const errors = validateSync(env, { whitelist: false, stopAtFirstError: true });
    if (errors.length) {
      throw invalid(
        errors.flatMap((error) =>
          Object.values(error.constraints ?? {}).map(
            (rule) => `${error.property}=${JSON.stringify(masked(error.property, raw[error.property]))}: ${rule}`,
          ),
        ),
      );
    }
    const conflicts = [...crossChecks(raw), ...(envClass.crossChecks?.(env) ?? [])];
    if (conflicts.length) throw invalid(conflicts);
    // Nest's ConfigModule writes the validated values (defaults included) back into process.env, and
    // main.ts validates process.env once more: REDIS_URL's default must not come back as a second mode.
    const other = ['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].some((name) => present[name] !== undefined);
    if (other && 'REDIS_URL' in env) Object.assign(env, { REDIS_URL: '' });
    return env;
  };
}

function invalid(lines: string[]): Error {
  return new Error(
    `Invalid configuration:\n${lines.map((line) => `  ${line}`).join('\n')}\nFix these environment variables and start again.`,
  );
}

/** `<NAME>_FILE` for each known NAME: the file's content becomes NAME (the path is shown in errors, never the content). */
function withFileVariables(
  input: Record<string, unknown>,
  known: string[],
): { raw: Record<string, unknown>; problems: string[] } {
  const raw = { ...input };
  const problems: string[] = [];
  for (const key of known) {
    const path = input[`${key}_FILE`];
    if (typeof path !== 'string' || path === '') continue;
    if (input[key] !== undefined && input[key] !== '') {
      problems.push(`${key} and ${key}_FILE are both set: give one of them`);
      continue;
    }
    try {
      raw[key] = readFileSync(path, 'utf8').replace(/[\r\n]+$/, '');
    } catch (error) {
      problems.push(
        `${key}_FILE=${JSON.stringify(path)}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
  }
  return { raw, problems };
}

/**
 * Rules between variables: Redis is one node, a cluster or a Sentinel group, never two of them; the
 * postgres result store needs its URL.
 */
function crossChecks(raw: Record<string, unknown>): string[] {
  const given = (name: string) => typeof raw[name] === 'string' && (raw[name] as string).trim() !== '';
  const modes = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].filter(given);
  const problems: string[] = [];
  if (modes.length > 1) {
    problems.push(
      `${modes.join(' and ')} are both set: give exactly one of REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS`,
    );
  }
  if (raw.RESULTS_BACKEND === 'postgres' && !given('DATABASE_URL')) {
    problems.push('RESULTS_BACKEND=postgres needs DATABASE_URL: the PostgreSQL to write finished tasks to');
  }
  if (given('REDIS_SENTINELS') && !given('REDIS_SENTINEL_NAME')) {
    problems.push('REDIS_SENTINELS is set without REDIS_SENTINEL_NAME: name the master group the sentinels monitor');
  }
  return problems;
}

/** A value as an error may show it: secrets never, a URL without its credentials. */
export function masked(name: string, value: unknown): unknown {
  if (typeof value !== 'string' || value === '') return value;
  if (/PASSWORD|SECRET|TOKEN|KEY$/.test(name)) return '***';
  // Everything up to the last `@` (a password may itself hold `@`, `:` or `/`).
  return value.replace(/^([A-Za-z][\w+.-]*:\/\/).*@/s, '$1***@');
}
