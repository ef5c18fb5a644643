import {
  ArgumentMetadata,
  HttpException,
  Injectable,
  Logger,
  PipeTransform,
  Type,
  ValidationPipe,
} from '@nestjs/common';
import type { ValidateFunction } from 'ajv';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { badRequest, FieldError, flattenValidationErrors } from '../filters/api-errors';
import { fieldErrorsFromAjv } from './openapi-schemas';

/** Strict input: unknown fields rejected, no type coercion, every broken rule reported by field. */
export function classValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => badRequest(flattenValidationErrors(errors)),
  });
}

/** How the body of one DTO type is checked. */
export interface BodyCheck {
  /**
   * Compiled from the DTO's schema in the served OpenAPI document (openApiSchemaCompiler): true when
   * the body keeps every rule. Fast, and silent about why: class-validator names the broken rules.
   */
  fast: ValidateFunction;
  /** Rules fixed at boot (MAX_BATCH_SIZE): the document states them, class-validator cannot. */
  limits?: (value: unknown) => FieldError[];
  /**
   * A list field whose items have a fast check of their own (a batch's `tasks`): when many items
   * fail, class-validator explains only the first ITEMS_EXPLAINED of them, so a batch of 1000 bad
   * tasks costs the event loop what 20 do.
   */
  items?: { field: string; fast: ValidateFunction };
}

/** Failing items of a list that class-validator explains at most (at least one error each). */
export const ITEMS_EXPLAINED = 20;

/**
 * Names every object answers through its prototype: `constructor`, `toString`, `hasOwnProperty`,
 * `valueOf`, `__proto__`, ... class-transformer skips keys named `constructor`, and class-validator's
 * unknown-field check looks names up in a plain object, where `toString` and its kin are always found:
 * `{"task_type": ..., "toString": 1}` and `?toString=1` would pass as known fields. The full validation
 * walks a copy with such keys renamed to an alias no field has, so they are refused as unknown
 * fields, and names them back in its errors.
 */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));
const ALIAS_MARK = '\u0000';

/** True when some object in `value` has a key in PROTOTYPE_NAMES. */
function hasPrototypeNames(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasPrototypeNames);
  return Object.entries(value).some(([key, child]) => PROTOTYPE_NAMES.has(key) || hasPrototypeNames(child));
}

/** A copy of `value` with every PROTOTYPE_NAMES key aliased. */
function aliasPrototypeNames(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(aliasPrototypeNames);
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [
      PROTOTYPE_NAMES.has(key) ? `${ALIAS_MARK}${key}` : key,
      aliasPrototypeNames(child),
    ]),
  );
}

function unaliased(error: FieldError): FieldError {
  return {
    ...error,
    field: error.field.replaceAll(ALIAS_MARK, ''),
    message: error.message.replaceAll(ALIAS_MARK, ''),
  };
}

/**
 * A query parameter class-transformer converts with Number (`@Type(() => Number)`) must be written in
 * decimal digits: Number() alone would take `0x10`, `+5`, `1e2`, ` 5` and `` (as 0). Found through
 * class-transformer's metadata, so every query DTO gets the rule without repeating it.
 */
const DECIMAL_INTEGER = /^-?\d{1,15}$/;

function nonDecimalQueryIntegers(query: unknown, metatype: Type): FieldError[] {
  if (query === null || typeof query !== 'object') return [];
  return Object.entries(query)
    .filter(
      ([key, value]) =>
        defaultMetadataStorage.findTypeMetadata(metatype, key)?.typeFunction() === Number &&
        !(typeof value === 'string' && DECIMAL_INTEGER.test(value)),
    )
    .map(([field]) => ({
      field,
      rule: 'isInt',
      message: `${field} must be an integer written in decimal digits, e.g. 50`,
    }));
}

/** Disagreements between the schema and class-validator logged at most, by kind (field without indexes, rule). */
const DRIFTS_LOGGED = 100;

export type Verdict = { ok: true; value: unknown } | { ok: false; errors: FieldError[]; note?: string };

/** The first ITEMS_EXPLAINED failing items of `check.items` and where they were, when more fail. */
function sampleOfFailing(
  value: unknown,
  items: NonNullable<BodyCheck['items']>,
): { value: unknown; indexes: number[]; skipped: number } | undefined {
  const list = (value as Record<string, unknown> | null)?.[items.field];
  if (!Array.isArray(list)) return undefined;
  const failing: number[] = [];
  for (let i = 0; i < list.length; i++) if (!items.fast(list[i])) failing.push(i);
  if (failing.length <= ITEMS_EXPLAINED) return undefined;
  const indexes = failing.slice(0, ITEMS_EXPLAINED);
  return {
    value: { ...(value as object), [items.field]: indexes.map((i) => list[i]) },
    indexes,
    skipped: failing.length - indexes.length,
  };
}

/** `tasks.3.priority` of the sample back to the item's place in the request. */
function renumbered(error: FieldError, field: string, indexes: number[]): FieldError {
  const at = new RegExp(`^${field}\\.(\\d+)`);
  const place = (text: string) => text.replace(at, (_all, j: string) => `${field}.${indexes[Number(j)]}`);
  return { ...error, field: place(error.field), message: place(error.message) };
}

/**
 * The api's one validation pipe, for every route. Queries, params and bodies are validated by
 * class-validator against their DTOs; a body DTO with a BodyCheck is first run through the ajv
 * validator compiled from the OpenAPI document, and a body that passes is used as it is (the
 * common case, and the cheap one: class-transformer + class-validator over a 1000-task batch cost
 * more than the rest of the request). A body that fails gets class-validator's field errors. The
 * two must agree on every body: the submit property test holds them to it.
 */
@Injectable()
export class ApiValidationPipe implements PipeTransform<unknown, Promise<unknown>> {
  private readonly logger = new Logger(ApiValidationPipe.name);
  private readonly classValidation = classValidationPipe();
  private readonly driftsLogged = new Set<string>();

  constructor(private readonly bodies: ReadonlyMap<Type, BodyCheck> = new Map()) {}

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'query' && metadata.metatype) {
      const errors = nonDecimalQueryIntegers(value, metadata.metatype);
      if (errors.length > 0) throw badRequest(errors);
    }
    const check = metadata.type === 'body' && metadata.metatype ? this.bodies.get(metadata.metatype) : undefined;
    if (!check) {
      const verdict = await this.classValidate(value, metadata);
      if (!verdict.ok) throw badRequest(verdict.errors);
      return verdict.value;
    }
    // Sizes before anything walks the items: a batch of a million nulls is refused by its length alone.
    const limitErrors = check.limits?.(value) ?? [];
    if (limitErrors.length > 0) throw badRequest(limitErrors);
    if (check.fast(value)) return value;
    const schemaErrors = fieldErrorsFromAjv(check.fast.errors);
    const verdict = await this.validateFully(value, metadata);
    if (!verdict.ok) throw badRequest(verdict.errors, verdict.note);
    // The document refuses what class-validator takes: a drift between the two, which the property
    // test exists to catch. The document is the promise, so its verdict stands. Logged once per kind:
    // any client that finds a drift could otherwise fill the error log with it.
    const kind = schemaErrors.map((e) => `${e.field.replace(/\.\d+(?=\.|$)/g, '.*')}:${e.rule}`).join(',');
    if (!this.driftsLogged.has(kind) && this.driftsLogged.size < DRIFTS_LOGGED) {
      this.driftsLogged.add(kind);
      this.logger.error({ msg: 'OpenAPI schema and class-validator disagree; refusing the body', schemaErrors });
    }
    throw badRequest(schemaErrors);
  }

  /** Every rule, named: the boot-time limits first (cheap), then class-validator. The fast check must agree. */
  async validateFully(value: unknown, metadata: ArgumentMetadata): Promise<Verdict> {
    const check = metadata.type === 'body' && metadata.metatype ? this.bodies.get(metadata.metatype) : undefined;
    const limitErrors = check?.limits?.(value) ?? [];
    if (limitErrors.length > 0) return { ok: false, errors: limitErrors };
    const sample = check?.items ? sampleOfFailing(value, check.items) : undefined;
    if (sample) {
      const verdict = await this.classValidate(sample.value, metadata);
      // (A sample class-validator accepts would be a drift between the two: the full run below decides.)
      if (!verdict.ok) {
        return {
          ok: false,
          errors: verdict.errors.map((error) => renumbered(error, check!.items!.field, sample.indexes)),
          note: `${sample.skipped} more ${check!.items!.field} fail too (the first ${ITEMS_EXPLAINED} failing ones are named)`,
        };
      }
    }
    return this.classValidate(value, metadata);
  }

  /**
   * class-validator's verdict, with keys named like Object.prototype's properties aliased (see
   * PROTOTYPE_NAMES). When the aliased copy passes, such keys sit only inside free-form values (a
   * payload), and the original is what the route gets.
   */
  private async classValidate(value: unknown, metadata: ArgumentMetadata): Promise<Verdict> {
    const aliased = hasPrototypeNames(value);
    try {
      const result = await this.classValidation.transform(aliased ? aliasPrototypeNames(value) : value, metadata);
      return { ok: true, value: aliased ? await this.classValidation.transform(value, metadata) : result };
    } catch (error) {
      const response = error instanceof HttpException ? error.getResponse() : undefined;
      if (typeof response === 'object' && response !== null && 'errors' in response) {
        return { ok: false, errors: (response as { errors: FieldError[] }).errors.map(unaliased) };
      }
      throw error;
    }
  }
}
