import { readFileSync } from 'node:fs';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, Matches, Max, Min, ValidateBy, validateSync } from 'class-validator';

/** `host:port,host:port,...` (empty allowed: the setting is off). */
const ADDRESS_LIST = /^([^,\s]+:\d{1,5}(,[^,\s]+:\d{1,5})*)?$/;

/** What a URL variable accepts: its schemes, and whether it must name a host and what its path may be. */
interface UrlRule {
  schemes: string[];
  /** The URL's form, shown in the message, e.g. redis://[user:password@]host[:port][/db]. */
  form: string;
  hostRequired: boolean;
  path?: { pattern: RegExp; what: string };
}

/**
 * Why `value` is not a URL of `rule`, or undefined when it is one. Parsed whole (WHATWG URL), as the
 * client libraries will parse it: a URL that passes here cannot fail later in a driver, whose error
 * would carry the raw URL, password included, into a stack trace. The reason never quotes the value.
 */
export function urlProblem(value: string, rule: UrlRule): string | undefined {
  const scheme = /^([A-Za-z][\w+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined || !rule.schemes.includes(scheme)) {
    return `it must start with ${rule.schemes.map((s) => `${s}://`).join(' or ')}`;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'it does not parse as a URL: a port that is not a number 1-65535, a host missing, or a character the password must percent-encode (@ : / ? #)';
  }
  if (rule.hostRequired && url.hostname === '') return 'it names no host';
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return 'its user or password has a malformed percent-encoding';
  }
  if (rule.path && !rule.path.pattern.test(url.pathname)) return `its path must be ${rule.path.what}`;
  return undefined;
}

/** The variable must be a URL of `rule` (an empty value passes: the variable is off or defaulted). */
function IsUrlOf(rule: UrlRule): PropertyDecorator {
  return ValidateBy({
    name: 'isUrl',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && (value === '' || urlProblem(value, rule) === undefined),
      defaultMessage: (args) =>
        `$property must be a URL ${rule.form}: ${typeof args?.value === 'string' ? urlProblem(args.value, rule) : 'a string'}`,
    },
  });
}

/** An address or host name to listen on. */
const LISTEN_ADDRESS = /^[A-Za-z0-9.:-]{1,255}$/;

/** Where an app's metrics listener binds: METRICS_HOST, else HOST. */
export function metricsHost(env: { HOST: string; METRICS_HOST: string }): string {
  return env.METRICS_HOST || env.HOST;
}

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
  @IsUrlOf({
    schemes: ['redis', 'rediss'],
    form: 'redis[s]://[[user]:password@]host[:port][/db]',
    hostRequired: true,
    path: { pattern: /^\/?\d{0,5}$/, what: 'a database number, e.g. /0' },
  })
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

  /**
   * The address the api listens on, and the default of METRICS_HOST for both apps. `npm start` sets
   * 127.0.0.1; containers need 0.0.0.0.
   */
  @IsString()
  @Matches(LISTEN_ADDRESS, { message: 'HOST must be an address or host name, e.g. 127.0.0.1 or 0.0.0.0' })
  HOST = '0.0.0.0';

  /**
   * The address of the metrics listener (the api's METRICS_PORT; the worker's, which serves its health
   * checks too); empty: HOST. It answers without authentication and names queues, task types and
   * schedules, so it listens where HOST does unless the deployment says otherwise (a scraper in
   * another container or pod needs 0.0.0.0).
   */
  @IsString()
  @Matches(new RegExp(`^$|${LISTEN_ADDRESS.source}`), {
    message: 'METRICS_HOST must be an address or host name, e.g. 127.0.0.1 or 0.0.0.0 (empty: HOST)',
  })
  METRICS_HOST = '';

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

  /**
   * How often expired leases are looked for: by each worker for its queues (it also promotes due tasks when
   * its pool is full), by the api for the queues HTTP workers claim from.
   */
  @Transform(toInt)
  @Max(600_000)
  @Min(100)
  @IsInt()
  RECOVERY_INTERVAL_MS = 5000;

  /** Retry backoff of a type without its own (exponential, full jitter): native and HTTP workers' retries. */
  @Transform(toInt)
  @Max(86_400_000)
  @Min(1)
  @IsInt()
  RETRY_BACKOFF_BASE_MS = 1000;

  @Transform(toInt)
  @Max(7 * 86_400_000)
  @Min(1)
  @IsInt()
  RETRY_BACKOFF_MAX_MS = 3_600_000;

  /**
   * Largest result a handler (or an HTTP worker's complete) may return, in bytes of its JSON: a run whose
   * result is larger is dead-lettered `result_too_large` (not retried: it would return the same), never stored cut short.
   */
  @Transform(toInt)
  @Max(64 * 1024 * 1024)
  @Min(16)
  @IsInt()
  MAX_RESULT_BYTES = 1024 * 1024;

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

  /** Most schedules one queue may hold; creating one more gets 409. 0 = no cap. */
  @Transform(toInt)
  @Max(1_000_000)
  @Min(0)
  @IsInt()
  MAX_SCHEDULES = 1000;

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
  @IsUrlOf({
    schemes: ['postgres', 'postgresql'],
    form: 'postgres[ql]://[user[:password]@][host][:port][/database][?options]',
    hostRequired: false,
  })
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

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY$/;

/**
 * A value as an error may show it: secrets never; of anything that may be a URL, nothing that may be a
 * credential. Everything up to the last `@` is a user and password (a password may itself hold `@`,
 * `:` or `/`), a query may carry one (`?password=`), and whatever follows `scheme://` in a URL that
 * does not parse may be one too (`redis://:pw`, a host forgotten): all of it is shown as `***`.
 */
export function masked(name: string, value: unknown): unknown {
  if (typeof value !== 'string' || value === '') return value;
  if (SECRET_NAME.test(name)) return '***';
  const scheme = /^[A-Za-z][\w+.-]*:\/\//.exec(value)?.[0] ?? '';
  const at = value.lastIndexOf('@');
  let shown = at >= 0 ? `${scheme}***${value.slice(at)}` : value;
  shown = shown.replace(/[?#].*$/s, '?***');
  if (scheme && at < 0) {
    let parses = false;
    try {
      parses = new URL(value).host !== '';
    } catch {
      parses = false;
    }
    if (!parses) return `${scheme}***`;
  }
  return shown;
}
