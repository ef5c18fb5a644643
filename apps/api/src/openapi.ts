import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /docs, the OpenAPI JSON at /docs-json, built from the DTOs and decorators. */
export function setUpOpenApi(app: INestApplication, port: number): void {
  const config = new DocumentBuilder()
    .setTitle('taskq API')
    .setDescription(
      'Submit tasks, follow their status, inspect queues and manage the dead-letter queue. ' +
        'Every error answers {statusCode, error, message, errors?}, naming the field and rule for bad input.',
    )
    .setVersion('0.1.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer(`http://localhost:${port}`, 'local')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
