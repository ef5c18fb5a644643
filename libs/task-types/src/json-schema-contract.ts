import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ajvErrorField, PayloadCheck, PayloadViolation, TaskContract, TaskDefaults } from '@app/contracts';

/** The one dialect a runtime schema may declare in `$schema` (or leave out). */
export const JSON_SCHEMA_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/**
 * Bounds on a runtime task type's payload schema: every api replica compiles each one, and a payload
 * is checked against it on every submit.
 */
export const TASK_TYPE_SCHEMA_LIMITS = {
  /** Serialized JSON. */
  maxBytes: 65_536,
  /** Nesting of objects and arrays. */
  maxDepth: 32,
} as const;

/** Keywords that point at another schema; in a runtime schema only within itself (`#…`). */
const REFERENCE_KEYWORDS = new Set(['$ref', '$dynamicRef', '$recursiveRef']);

/** A schema problem, named by its place in the request body (`payload_schema.properties.to.format`). */
export type SchemaCompile =
  { ok: true; validate: ValidateFunction; release: () => void } | { ok: false; violations: PayloadViolation[] };

/**
 * What a schema must not hold before ajv sees it: a reference outside itself, an `$id` (a runtime
 * schema is named by its task type, and two equal ids would collide in the shared compiler), another
 * dialect, or nesting past maxDepth. The first problem found, or undefined.
 */
function structuralProblem(schema: unknown, field: string): PayloadViolation | undefined {
  const walk = (node: unknown, path: string, depth: number): PayloadViolation | undefined => {
    if (node === null || typeof node !== 'object') return undefined;
    if (depth > TASK_TYPE_SCHEMA_LIMITS.maxDepth) {
      return {
        field: path,
        rule: 'maxDepth',
        message: `${field} nests deeper than ${TASK_TYPE_SCHEMA_LIMITS.maxDepth} levels (at ${path})`,
      };
    }
    const entries: [string, unknown][] = Array.isArray(node)
      ? node.map((value, i) => [String(i), value])
      : Object.entries(node);
    for (const [key, value] of entries) {
      const at = `${path}.${key}`;
      if (!Array.isArray(node) && REFERENCE_KEYWORDS.has(key) && typeof value === 'string' && !value.startsWith('#')) {
        return {
          field: at,
          rule: 'localRef',
          message: `${at} "${value}" points outside the schema; a runtime schema may refer only within itself (#/$defs/…)`,
        };
      }
      if (!Array.isArray(node) && key === '$id' && typeof value === 'string') {
        return {
          field: at,
          rule: 'noId',
          message: `${at}: a runtime schema is named by its task type; remove $id (use $defs and #/$defs/… references)`,
        };
      }
      const problem = walk(value, at, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  };
  if (typeof schema === 'object' && schema !== null && !Array.isArray(schema)) {
    const declared = (schema as Record<string, unknown>).$schema;
    if (declared !== undefined && declared !== JSON_SCHEMA_2020_12) {
      return {
        field: `${field}.$schema`,
        rule: 'dialect',
        message: `${field}.$schema must be ${JSON_SCHEMA_2020_12} (or left out): runtime schemas are JSON Schema 2020-12`,
      };
    }
  }
  return walk(schema, field, 1);
}

/** ajv's errors for a payload as the api's field errors (`/to` → `payload.to`, rule `format`). */
export function payloadViolations(errors: ErrorObject[] | null | undefined): PayloadViolation[] {
  return (errors ?? []).map((error) => {
    const { field, parent, property } = ajvErrorField(error, 'payload');
    const message =
      error.keyword === 'required'
        ? `${field} is required`
        : property !== undefined
          ? `${field} is not allowed (${error.keyword} of ${parent})`
          : `${field} ${error.message ?? 'is invalid'}`;
    return { field, rule: error.keyword, message };
  });
}

/**
 * Compiles runtime payload schemas (JSON Schema 2020-12) with one ajv instance: strict about keywords
 * (a misspelt keyword is refused, not ignored), every format of ajv-formats, the first error only (a
 * bounded cost per submit), no remote references (never fetched: refused before compiling).
 */
export class TaskTypeSchemaCompiler {
  private readonly ajv: Ajv2020;

  constructor() {
    this.ajv = new Ajv2020({
      strict: true,
      // Type-less `properties` and friends are common in hand-written schemas and harmless.
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allErrors: false,
      coerceTypes: false,
      useDefaults: false,
      removeAdditional: false,
    });
    addFormats(this.ajv, { mode: 'full' });
  }

  /** `field`: where the schema is in the request (`payload_schema`), for the violations' names. */
  compile(schema: unknown, field = 'payload_schema'): SchemaCompile {
    if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
      return {
        ok: false,
        violations: [{ field, rule: 'isSchema', message: `${field} must be a JSON Schema: an object or a boolean` }],
      };
    }
    const bytes = Buffer.byteLength(JSON.stringify(schema));
    if (bytes > TASK_TYPE_SCHEMA_LIMITS.maxBytes) {
      return {
        ok: false,
        violations: [
          {
            field,
            rule: 'maxBytes',
            message: `${field} is ${bytes} bytes serialized; at most ${TASK_TYPE_SCHEMA_LIMITS.maxBytes}`,
          },
        ],
      };
    }
    const problem = structuralProblem(schema, field);
    if (problem) return { ok: false, violations: [problem] };
    if (!this.ajv.validateSchema(schema as object)) {
      const [error] = this.ajv.errors ?? [];
      const at = error ? ajvErrorField(error, field).parent : field;
      return {
        ok: false,
        violations: [
          {
            field: at,
            rule: 'validSchema',
            message: `${at} ${error?.message ?? 'is invalid'} (JSON Schema 2020-12)`,
          },
        ],
      };
    }
    try {
      const validate = this.ajv.compile(schema as object);
      // ajv caches compiled schemas by object; a type replaced or deleted gives its entry back.
      const release = () => {
        if (typeof schema === 'object') this.ajv.removeSchema(schema as object);
      };
      return { ok: true, validate, release };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        violations: [{ field, rule: 'validSchema', message: `${field} does not compile: ${reason}` }],
      };
    }
  }
}

/** A runtime type's contract: its payload checked by its compiled schema. */
export function jsonSchemaContract(spec: {
  type: string;
  description: string;
  validate: ValidateFunction;
  defaults: TaskDefaults;
  queue?: string;
}): TaskContract<unknown> {
  const { validate } = spec;
  return {
    type: spec.type,
    description: spec.description,
    defaults: spec.defaults,
    queue: spec.queue,
    example: undefined,
    check(payload: unknown): PayloadCheck<unknown> {
      return validate(payload)
        ? { ok: true, value: payload }
        : { ok: false, violations: payloadViolations(validate.errors) };
    },
  };
}
