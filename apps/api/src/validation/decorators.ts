import { ValidateBy, ValidateIf, ValidationOptions } from 'class-validator';
import { fullFormats } from 'ajv-formats/dist/formats';

/**
 * Required; any value but a missing one (null is a value). When a required field is missing this is
 * the only error reported for it: "task_type is required", not "task_type must be a string".
 */
export function IsPresent(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPresent',
      validator: { validate: (value) => value !== undefined, defaultMessage: () => '$property is required' },
    },
    options,
  );
}

/** Required, and null is a meaningful value ("none"): "rate is required (null for none)". */
export function IsDefinedOrNull(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPresent',
      validator: {
        validate: (value) => value !== undefined,
        defaultMessage: () => '$property is required (null for none)',
      },
    },
    options,
  );
}

/**
 * The field may be left out; when given, every other rule applies. Unlike class-validator's
 * IsOptional, null is not "left out": `"queue": null` is a bad queue, as the OpenAPI schema says.
 */
export function Omittable(): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined);
}

/**
 * RFC 3339 date-time (section 5.6) with a time zone: `2030-01-01T09:00:00Z`, `2030-01-01T10:00:00.5+01:00`.
 * The OpenAPI schema states it as `format: date-time` plus this pattern; ajv checks both, and so does
 * isRfc3339DateTime, with the same format function (ajv-formats', which also checks the day of the month).
 */
export const RFC3339_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

const dateTimeFormat = fullFormats['date-time'] as { validate: (value: string) => boolean };

export function isRfc3339DateTime(value: unknown): value is string {
  return typeof value === 'string' && RFC3339_DATE_TIME.test(value) && dateTimeFormat.validate(value);
}

export function IsRfc3339DateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRfc3339',
      validator: {
        validate: isRfc3339DateTime,
        defaultMessage: () => '$property must be an RFC 3339 date-time with a time zone, e.g. 2030-01-01T09:00:00Z',
      },
    },
    options,
  );
}
