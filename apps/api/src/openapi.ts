import { INestApplication } from '@nestjs/common';
import { ApiPropertyOptions, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** "Any JSON value" in OpenAPI 3.0 terms, for payloads and results. */
export const ANY_JSON: ApiPropertyOptions = {
  oneOf: [
    { type: 'object', nullable: true },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
  ],
};

/** Swagger UI at /docs, the OpenAPI JSON at /docs-json, built from the DTOs and decorators. */
export function setUpOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('taskq API')
    .setDescription(
      'Submit tasks, follow their status, inspect queues and manage the dead-letter queue. ' +
        'Every error answers {statusCode, error, message, errors?}, naming the field and rule for bad input.',
    )
    .setVersion('0.1.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'this server')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  // No authentication: said explicitly (put the api behind your gateway or network policy).
  document.security = [];
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
