import { HttpException } from '@nestjs/common';
import { NAMED_DUPLICATE_MAX_BYTES, parseJsonBody } from './json-body.parser';

function refusal(text: string): unknown {
  try {
    parseJsonBody(text);
  } catch (error) {
    return (error as HttpException).getResponse();
  }
  throw new Error('parsed');
}

describe('JSON body parser', () => {
  it('parses JSON bodies', () => {
    expect(parseJsonBody('{"task_type":"echo","payload":[1,{"a":null}]}')).toEqual({
      task_type: 'echo',
      payload: [1, { a: null }],
    });
    expect(parseJsonBody('\ufeff[1]')).toEqual([1]);
  });

  it.each([
    ['an empty body', '', 'isPresent', /empty/],
    ['cut-off JSON', '{"task_type":', 'isJson', /not valid JSON/],
    ['__proto__', '{"__proto__":{"polluted":true}}', 'isJson', /forbidden prototype property/],
    ['constructor.prototype', '{"constructor":{"prototype":{"p":1}}}', 'isJson', /forbidden prototype property/],
    ['6,000 levels', `${'['.repeat(6000)}${']'.repeat(6000)}`, 'maxDepth', /deeper than 64 levels/],
  ])('refuses %s with 400 naming body and rule', (_name, text, rule, message) => {
    expect(refusal(text)).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      errors: [{ field: 'body', rule, message: expect.stringMatching(message) }],
    });
  });
});

describe('JSON body parser: duplicate keys', () => {
  it.each([
    ['a top-level field', '{"priority":1,"task_type":"echo","priority":100}', 'priority'],
    ['a batch item', '{"tasks":[{"a":1},{"b":1,"b":2}]}', 'tasks.1.b'],
    ['a key spelled with an escape', '{"queue":"a","q\\u0075eue":"b"}', 'queue'],
    ['inside a payload', '{"payload":{"x":[{"k":1,"k":1}]}}', 'payload.x.0.k'],
  ])('refuses %s given twice, naming it', (_name, text, field) => {
    expect(refusal(text)).toMatchObject({
      statusCode: 400,
      errors: [{ field, rule: 'duplicateKey', message: expect.stringMatching(/given more than once/) }],
    });
  });

  it('takes equal keys in different objects, and keys that only look alike', () => {
    const text =
      '{"a":{"a":1,"b":{"a":2}},"b":[{"a":1},{"a":1}],"s":"\\"a\\":1,\\"a\\":2","A":1,"a ":2,"\\\\":3,"\\\\\\\\":4}';
    expect(parseJsonBody(text)).toEqual(JSON.parse(text));
  });
});

describe('JSON body parser: a duplicate key in a body over NAMED_DUPLICATE_MAX_BYTES', () => {
  it('is refused naming body, without searching the text for it', () => {
    const filler = 'x'.repeat(NAMED_DUPLICATE_MAX_BYTES);
    expect(refusal(`{"tasks":[{"payload":"${filler}"},{"a":1,"a":2}]}`)).toMatchObject({
      errors: [{ field: 'body', rule: 'duplicateKey', message: expect.stringMatching(/gives a key more than once/) }],
    });
  });
});
