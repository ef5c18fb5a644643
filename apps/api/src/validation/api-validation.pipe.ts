import { ValidationPipe } from '@nestjs/common';
import { badRequest, flattenValidationErrors } from '../filters/api-errors';

/** Strict input: unknown fields rejected, no type coercion, every broken rule reported by field. */
export function validationPipe(): ValidationPipe {
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
