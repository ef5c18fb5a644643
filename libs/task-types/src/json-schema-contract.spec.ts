import { jsonSchemaContract, TASK_TYPE_SCHEMA_LIMITS, TaskTypeSchemaCompiler } from './json-schema-contract';

const upper = {
  type: 'object',
  properties: { text: { type: 'string', maxLength: 10 }, to: { type: 'string', format: 'email' } },
  required: ['text'],
  additionalProperties: false,
};

function contractOf(schema: unknown) {
  const compiled = new TaskTypeSchemaCompiler().compile(schema);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.violations));
  return jsonSchemaContract({ type: 'py.upper', description: '', validate: compiled.validate, defaults: {} });
}

/** A schema nested `levels` objects deep. */
function nested(levels: number): unknown {
  let schema: Record<string, unknown> = { type: 'string' };
  for (let i = 1; i < levels; i++) schema = { type: 'object', properties: { a: schema } };
  return schema;
}

describe('runtime task type schemas', () => {
  it('checks payloads and names the field and keyword as the api does (payload.to, format)', () => {
    const contract = contractOf(upper);
    expect(contract.check({ text: 'hi' })).toEqual({ ok: true, value: { text: 'hi' } });
    expect(contract.check({ text: 'hi', to: 'nope' })).toEqual({
      ok: false,
      violations: [{ field: 'payload.to', rule: 'format', message: 'payload.to must match format "email"' }],
    });
    expect(contract.check({})).toEqual({
      ok: false,
      violations: [{ field: 'payload.text', rule: 'required', message: 'payload.text is required' }],
    });
    expect(contract.check({ text: 'hi', extra: 1 })).toMatchObject({
      ok: false,
      violations: [{ field: 'payload.extra', rule: 'additionalProperties' }],
    });
    expect(contract.check('bare')).toMatchObject({ ok: false, violations: [{ field: 'payload', rule: 'type' }] });
  });

  it('takes boolean schemas, $defs with local references and the 2020-12 $schema', () => {
    expect(contractOf(true).check(null)).toMatchObject({ ok: true });
    expect(contractOf(false).check(null)).toMatchObject({ ok: false });
    const withDefs = contractOf({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $defs: { n: { type: 'integer', minimum: 0 } },
      type: 'array',
      items: { $ref: '#/$defs/n' },
    });
    expect(withDefs.check([1, 2])).toMatchObject({ ok: true });
    expect(withDefs.check([1, -2])).toMatchObject({ ok: false, violations: [{ field: 'payload.1', rule: 'minimum' }] });
  });

  it.each([
    ['a remote $ref', { $ref: 'https://example.com/s.json' }, 'payload_schema.$ref', 'localRef'],
    [
      'a relative $ref deep inside',
      { properties: { a: { items: { $ref: 'other.json#/x' } } } },
      'payload_schema.properties.a.items.$ref',
      'localRef',
    ],
    ['an $id', { $id: 'https://example.com/s', type: 'string' }, 'payload_schema.$id', 'noId'],
    ['another dialect', { $schema: 'http://json-schema.org/draft-07/schema#' }, 'payload_schema.$schema', 'dialect'],
    ['an unknown keyword', { type: 'string', maxLenght: 3 }, 'payload_schema', 'validSchema'],
    ['an unknown format', { type: 'string', format: 'colour' }, 'payload_schema', 'validSchema'],
    [
      'a wrong keyword value',
      { type: 'object', properties: { a: { type: 'strin' } } },
      'payload_schema.properties.a.type',
      'validSchema',
    ],
    ['a local $ref to nothing', { $ref: '#/$defs/missing' }, 'payload_schema', 'validSchema'],
    ['not a schema', [1, 2], 'payload_schema', 'isSchema'],
    ['a string', 'string', 'payload_schema', 'isSchema'],
    ['too deep', nested(TASK_TYPE_SCHEMA_LIMITS.maxDepth + 2), expect.stringMatching(/^payload_schema\./), 'maxDepth'],
    [
      'too large',
      { type: 'string', description: 'x'.repeat(TASK_TYPE_SCHEMA_LIMITS.maxBytes) },
      'payload_schema',
      'maxBytes',
    ],
  ])('refuses %s, naming where', (_what, schema, field, rule) => {
    const compiled = new TaskTypeSchemaCompiler().compile(schema);
    expect(compiled).toMatchObject({ ok: false, violations: [{ field, rule }] });
    if (!compiled.ok) expect(compiled.violations[0].message).toContain('payload_schema');
  });

  it('a schema at the depth limit compiles', () => {
    // nested(n) is n levels of schema objects, each inside a `properties` object: 2n - 1 in all.
    const levels = Math.floor((TASK_TYPE_SCHEMA_LIMITS.maxDepth + 1) / 2);
    expect(new TaskTypeSchemaCompiler().compile(nested(levels))).toMatchObject({ ok: true });
  });
});
