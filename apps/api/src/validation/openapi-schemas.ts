import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ajvErrorField } from '@app/contracts';
import { FieldError } from '../filters/api-errors';

const DOCUMENT_ID = 'openapi.json';

/**
 * Compiles validators straight from the served OpenAPI document's component schemas, so a check
 * made with them is, by construction, what the document promises. Strict ajv (but `not: {required}` names
 * properties of the parent schema, so strictRequired is off): a keyword it does
 * not know fails the build instead of being ignored (only OpenAPI's `example` is annotation).
 */
export function openApiSchemaCompiler(document: OpenAPIObject): (schemaName: string) => ValidateFunction {
  const ajv = new Ajv({
    strict: true,
    strictRequired: false,
    allErrors: false,
    coerceTypes: false,
    useDefaults: false,
  });
  addFormats(ajv, { mode: 'full', formats: ['date-time'] });
  ajv.addVocabulary(['example', 'components']);
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
  return (schemaName) => {
    if (!document.components?.schemas?.[schemaName]) throw new Error(`no schema ${schemaName} in the OpenAPI document`);
    return ajv.compile({ $ref: `${DOCUMENT_ID}#/components/schemas/${schemaName}` });
  };
}

/** ajv's errors as the api's field errors (`/tasks/3/priority` → `tasks.3.priority`). */
export function fieldErrorsFromAjv(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((error) => {
    const field = ajvErrorField(error).field || 'body';
    return { field, rule: error.keyword, message: `${field} ${error.message ?? 'is invalid'}` };
  });
}
