import { BadRequestException, HttpException, HttpStatus, PayloadTooLargeException } from '@nestjs/common';
import { ValidationError } from 'class-validator';

export interface FieldError {
  field: string;
  rule: string;
  message: string;
}

/** A note that ends the message even when HttpErrorFilter cuts the errors short (a symbol: never serialized). */
export const MESSAGE_NOTE = Symbol('taskq.messageNote');

/**
 * A 400 naming each field and the rule it broke (HttpErrorFilter sends the first MAX_FIELD_ERRORS);
 * `note` says what the list leaves out.
 */
export function badRequest(errors: FieldError[], note?: string): HttpException {
  const body = {
    statusCode: HttpStatus.BAD_REQUEST,
    error: 'Bad Request',
    message: errors.map((e) => e.message).join('; ') + (note ? `; ${note}` : ''),
    errors,
    ...(note ? { [MESSAGE_NOTE]: note } : {}),
  };
  return new BadRequestException(body);
}

export function payloadTooLarge(field: string, limit: number, size: number): HttpException {
  const message = `${field} is ${size} bytes serialized; the limit is ${limit} (MAX_PAYLOAD_BYTES)`;
  return new PayloadTooLargeException({
    statusCode: HttpStatus.PAYLOAD_TOO_LARGE,
    error: 'Payload Too Large',
    message,
    errors: [{ field, rule: 'maxBytes', message }],
  });
}

/** class-validator's tree as flat `a.b.0.c` field errors; a missing required field is reported only as missing. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const constraints = error.constraints?.isPresent ? { isPresent: error.constraints.isPresent } : error.constraints;
    for (const [rule, message] of Object.entries(constraints ?? {})) {
      out.push({
        field,
        rule: rule === 'whitelistValidation' ? 'unknownField' : rule,
        message: withPath(message, error.property, field),
      });
    }
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, field));
  }
  return out;
}

function withPath(message: string, property: string, field: string): string {
  if (field === property) return message;
  return message.startsWith(property) ? field + message.slice(property.length) : `${field}: ${message}`;
}
