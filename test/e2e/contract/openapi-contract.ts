import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { RecordedResponse } from '@app/testing';

type Json = Record<string, any>;

const DOCUMENT_ID = 'openapi.json';
/** Served next to the api, not part of it. */
const NOT_OPERATIONS = /^\/docs(-json|\/.*)?$/;

/** Every schema object with properties gets `additionalProperties: false` unless it says otherwise. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** `#/components/...` refs made absolute, so a schema compiled on its own still finds them. */
function absoluteRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(absoluteRefs);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#/')
        ? `${DOCUMENT_ID}${value}`
        : absoluteRefs(value),
    ]),
  );
}

/**
 * Checks recorded responses against an OpenAPI 3.0 document: the operation (path template and
 * method), a documented status, the body against that status's schema, and the headers it marks
 * required. Responses are held to the documented fields only: every object schema is closed
 * (additionalProperties false) unless it says otherwise, so a field the api adds without
 * documenting it fails too. A path no operation matches must answer the documented error body.
 */
export class OpenApiContract {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly paths: { template: string; pattern: RegExp; literal: number }[];

  constructor(private readonly document: Json) {
    this.ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true });
    addFormats(this.ajv, { mode: 'full', formats: ['date-time'] });
    this.ajv.addVocabulary(['example', 'components']);
    this.ajv.addSchema({ $id: DOCUMENT_ID, components: closed(document.components ?? {}) });
    this.paths = Object.keys(document.paths ?? {})
      .map((template) => ({
        template,
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        literal: template.split('/').filter((part) => part && !part.startsWith('{')).length,
      }))
      // /submit/batch before a /submit/{x} would be: the most literal match wins.
      .sort((a, b) => b.literal - a.literal);
  }

  /** What is wrong with one response; empty when it keeps the document's promise. */
  check(response: RecordedResponse): string[] {
    const url = new URL(response.url);
    const where = `${response.method} ${url.pathname}${url.search} → ${response.status}`;
    if (NOT_OPERATIONS.test(url.pathname)) return [];
    const template = this.paths.find((path) => path.pattern.test(url.pathname))?.template;
    const operation = template ? this.document.paths[template][response.method.toLowerCase()] : undefined;
    if (!operation) {
      // No such route: Fastify's own 404, which must leave in the documented error shape.
      const problems = this.validate('#/components/schemas/ErrorBodyDto', response.body, where);
      if (response.status < 400 || response.status >= 500) problems.push(`${where}: no operation, yet not a 4xx`);
      return problems;
    }
    const documented = operation.responses?.[String(response.status)] ?? operation.responses?.default;
    if (!documented) {
      return [`${where}: status ${response.status} is not documented for ${response.method} ${template}`];
    }
    const problems: string[] = [];
    for (const [name, header] of Object.entries<Json>(documented.headers ?? {})) {
      if (header.required && response.headers[name.toLowerCase()] === undefined) {
        problems.push(`${where}: the documented header ${name} is missing`);
      }
    }
    const schema = documented.content?.['application/json']?.schema;
    if (!schema) {
      if (response.body !== undefined) problems.push(`${where}: a body, where the document has none`);
      return problems;
    }
    const pointer = `#/paths/${template!.replaceAll('~', '~0').replaceAll('/', '~1')}/${response.method.toLowerCase()}/responses/${response.status}`;
    return [...problems, ...this.validate(pointer, response.body, where, schema)];
  }

  private validate(key: string, body: unknown, where: string, schema?: Json): string[] {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile((schema ? absoluteRefs(closed(schema)) : { $ref: `${DOCUMENT_ID}${key}` }) as Json);
      this.validators.set(key, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (error) => `${where}: body${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`,
    );
  }
}
