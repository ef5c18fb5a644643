import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

/** Retry backoff of one task type; overrides the deployment's defaults. */
export interface BackoffOptions {
  /** First retry waits up to baseMs (full jitter), doubling each attempt. */
  baseMs?: number;
  /** The cap on a single retry delay. */
  maxMs?: number;
}

/** Defaults a task type gives its tasks when the submitter does not set them. */
export interface TaskDefaults {
  maxRetries?: number;
  timeoutMs?: number;
  backoff?: BackoffOptions;
}

/** One broken rule of a payload: the field (a dotted path under `payload`) and the rule. */
export interface PayloadViolation {
  field: string;
  rule: string;
  message: string;
}

export type PayloadCheck<T> = { ok: true; value: T } | { ok: false; violations: PayloadViolation[] };

/**
 * A task type's contract, shared by the API (rejects a bad payload at submit time)
 * and the worker (validates the same way before running the handler).
 */
export interface TaskContract<T = unknown> {
  readonly type: string;
  readonly description: string;
  readonly defaults?: TaskDefaults;
  /** The queue its tasks go to when a submit names none (the default queue when absent). */
  readonly queue?: string;
  /** Example payload, shown in the OpenAPI docs. */
  readonly example: unknown;
  check(payload: unknown): PayloadCheck<T>;
}

/** What names an ajv error's place (the fields of ajv's ErrorObject used here; ajv itself is not loaded). */
export interface AjvErrorPlace {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** Keywords whose error names a property of the object at instancePath (the missing or unexpected one). */
const PROPERTY_PARAM: Record<string, string> = {
  required: 'missingProperty',
  additionalProperties: 'additionalProperty',
  unevaluatedProperties: 'unevaluatedProperty',
};

/**
 * The dotted field an ajv error names under `base` (`/tasks/3/priority` → `tasks.3.priority`, JSON Pointer
 * unescaped): the object at instancePath (`parent`), and the property a `required` or `additionalProperties`
 * error is about. The api's body checks and the runtime task types' payload checks both name fields with it.
 */
export function ajvErrorField(error: AjvErrorPlace, base = ''): { field: string; parent: string; property?: string } {
  const pointer = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const parent = [base, pointer].filter(Boolean).join('.');
  const param = PROPERTY_PARAM[error.keyword];
  const property = param === undefined ? undefined : (error.params[param] as string | undefined);
  return { field: [parent, property].filter(Boolean).join('.'), parent, property };
}

/** Flattens class-validator's nested errors into `payload.a.b` paths. */
export function toViolations(errors: ValidationError[], parent = 'payload'): PayloadViolation[] {
  const out: PayloadViolation[] = [];
  for (const error of errors) {
    const field = `${parent}.${error.property}`;
    for (const [rule, message] of Object.entries(error.constraints ?? {})) {
      out.push({ field, rule, message: message.replace(error.property, field) });
    }
    if (error.children?.length) out.push(...toViolations(error.children, field));
  }
  return out;
}

/**
 * Builds a contract whose payload is an object validated by a class-validator DTO.
 * `normalize` may turn shorthand payloads (e.g. a bare string) into the object form first.
 */
export function dtoContract<T extends object>(spec: {
  type: string;
  description: string;
  dto: new () => T;
  example: unknown;
  defaults?: TaskDefaults;
  normalize?: (payload: unknown) => unknown;
}): TaskContract<T> {
  return {
    type: spec.type,
    description: spec.description,
    defaults: spec.defaults,
    example: spec.example,
    check(payload: unknown): PayloadCheck<T> {
      const plain = spec.normalize ? spec.normalize(payload) : payload;
      if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
        return {
          ok: false,
          violations: [{ field: 'payload', rule: 'isObject', message: `payload of ${spec.type} must be an object` }],
        };
      }
      const value = plainToInstance(spec.dto, plain);
      const errors = validateSync(value, { whitelist: true, forbidNonWhitelisted: true });
      return errors.length ? { ok: false, violations: toViolations(errors) } : { ok: true, value };
    },
  };
}
