import { HttpException } from '@nestjs/common';
import { parseJsonBody } from './json-body.parser';

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
