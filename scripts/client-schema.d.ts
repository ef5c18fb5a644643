/** Types of scripts/client-schema.js. */

/** The schema file's text for an OpenAPI 3 document. */
export function renderClientSchema(document: unknown): Promise<string>;
/** Where the generated schema lives: libs/client/src/schema.ts. */
export const SCHEMA_PATH: string;
