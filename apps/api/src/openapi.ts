import { INestApplication } from '@nestjs/common';
import { ApiProperty, DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { SECURITY_SCHEMES } from './auth/access';

/**
 * Class-level keywords @nestjs/swagger cannot express (`additionalProperties: false`, `not`), by
 * component schema name; setUpOpenApi merges them into the document.
 */
const schemaKeywords = new Map<string, SchemaObject>();
/** Properties whose schema is given whole (any JSON value, an optional inline object), by component schema name. */
const givenProperties = new Map<string, Map<string, SchemaObject>>();

function giveProperty(target: object, key: string | symbol, schema: SchemaObject): void {
  const properties = givenProperties.get(target.constructor.name) ?? new Map<string, SchemaObject>();
  properties.set(String(key), schema);
  givenProperties.set(target.constructor.name, properties);
}

/** Adds JSON Schema keywords to the class's component schema in the served document. */
export function ApiSchemaKeywords(keywords: SchemaObject): ClassDecorator {
  return (target) => {
    schemaKeywords.set(target.name, { ...schemaKeywords.get(target.name), ...keywords });
  };
}

/**
 * A property that takes any JSON value, null included: an empty schema (`{}`) with a description.
 * (A oneOf of the JSON types became `Record<string, never>` in generated clients.)
 */
export function ApiAnyJson(options: { description: string; example?: unknown; required?: boolean }): PropertyDecorator {
  return (target, key) => {
    const { required = true, ...schema } = options;
    ApiProperty({ required, description: schema.description })(target, key);
    giveProperty(target, key, schema);
  };
}

/**
 * A property whose schema is an inline object, stated whole: @nestjs/swagger reads `required` of a
 * property as its own requiredness, so an optional inline object would lose its `required` list.
 * (Inline rather than a $ref when it is nullable: OpenAPI 3.0 cannot make a referenced schema nullable.)
 * The schema is placed by class name: a subclass's schema keeps what @nestjs/swagger made of it.
 */
export function ApiInlineObject(
  schema: SchemaObject & { type: 'object' },
  options: { required: boolean },
): PropertyDecorator {
  return (target, key) => {
    ApiProperty({ required: options.required, description: schema.description })(target, key);
    giveProperty(target, key, schema);
  };
}

/** Limits known only at boot that the document states (a batch's maxItems). */
export interface OpenApiLimits {
  maxBatchSize: number;
}

/** The document as built from the DTOs and decorators, with the keywords above and the boot-time limits applied. */
export function buildOpenApiDocument(app: INestApplication, limits: OpenApiLimits): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('taskq API')
    .setDescription(
      'Submit tasks, follow their status, inspect queues and manage the dead-letter queue. ' +
        'Every error answers {statusCode, error, message, errors?}, naming the field and rule for bad input.',
    )
    .setVersion('0.1.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'this server')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'An API key, tq_<id>_<secret> (AUTH_MODE api-key or both)',
      },
      SECURITY_SCHEMES.apiKey,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'An API key (tq_...) or, with AUTH_MODE jwt or both, a JWT' },
      SECURITY_SCHEMES.bearer,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  // Each operation states its own security (@RequireScopes); the health checks need none.
  document.security = [];
  const schemas = (document.components?.schemas ?? {}) as Record<string, SchemaObject>;
  for (const [name, keywords] of schemaKeywords) if (schemas[name]) Object.assign(schemas[name], keywords);
  for (const [name, properties] of givenProperties) {
    for (const [key, schema] of properties) if (schemas[name]?.properties) schemas[name].properties[key] = schema;
  }
  addServerAnswers(document);
  const tasks = schemas.SubmitBatchDto?.properties?.tasks as SchemaObject | undefined;
  if (tasks) tasks.maxItems = limits.maxBatchSize;
  return document;
}

const errorBody = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } },
});

/** Methods whose body Fastify reads and parses (its `bodywith`): any of them may answer 400, 413 and 415. */
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/**
 * The answers Node's HTTP server and Fastify give before any handler runs, on every operation they
 * can reach: 408 and 431 (the HTTP parser, for any request), 414 (a path parameter too long), and for
 * methods with a body 400 (malformed JSON), 413 (over the route's body limit) and 415 (another
 * Content-Type), even where the operation takes no body. An operation's own description of a status
 * stays.
 */
function addServerAnswers(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item) as [string, { responses?: Record<string, unknown> }][]) {
      const responses = (operation.responses ??= {});
      responses['408'] ??= errorBody(
        'The request did not arrive in time (headers within 10 s or REQUEST_TIMEOUT_MS if shorter, the whole request within REQUEST_TIMEOUT_MS); the connection is closed',
      );
      responses['431'] ??= errorBody('Request headers larger than 16 KiB; the connection is closed');
      if (path.includes('{')) responses['414'] ??= errorBody('A path parameter longer than 200 characters');
      if (!BODY_METHODS.has(method)) continue;
      responses['400'] ??= errorBody(
        'A malformed JSON body (rule isJson, isPresent, maxDepth or duplicateKey, field body or the duplicated key)',
      );
      responses['413'] ??= errorBody("A body larger than this route's limit");
      responses['415'] ??= errorBody('A body whose Content-Type is not application/json');
    }
  }
}

/** Swagger UI at /docs (its Authorize button takes a key or token), the OpenAPI JSON at /docs-json; returns the document served. */
export function setUpOpenApi(
  app: INestApplication,
  limits: OpenApiLimits,
  /** Root extensions (`x-…`) read at each request: what changes at run time, such as the task types. */
  extensions: () => Record<`x-${string}`, unknown> = () => ({}),
): OpenAPIObject {
  const document = buildOpenApiDocument(app, limits);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: false },
    patchDocumentOnRequest: (_request, _reply, served) => ({ ...served, ...extensions() }),
  });
  return document;
}
