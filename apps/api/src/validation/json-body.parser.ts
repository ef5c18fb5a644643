import type { FastifyInstance } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { badRequest } from '../filters/api-errors';
import { MAX_BODY_DEPTH, scanJsonText } from './body-depth';
import { duplicateKeyPath, keyCount } from './duplicate-keys';

/**
 * Largest body whose duplicated key is named (`tasks.3.priority`): finding it costs about three
 * passes over the text, so a larger body (a batch) is refused naming only `body`.
 */
export const NAMED_DUPLICATE_MAX_BYTES = 1024 * 1024;

/**
 * Parses a JSON request body, for every route: prototype poisoning (`__proto__`,
 * `constructor.prototype`) is refused as Fastify's own parser does (secure-json-parse), a body
 * nested deeper than MAX_BODY_DEPTH is refused before any validator or serializer walks it, and so
 * is an object that gives one key twice (which JSON.parse would resolve silently, to the last).
 * Every refusal is a 400 in the api's error shape, naming `body` and the rule.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) {
    throw badRequest([{ field: 'body', rule: 'isPresent', message: 'body is empty; send a JSON object' }]);
  }
  // Before parsing: JSON.parse itself spends seconds and hundreds of MiB on 16 MiB of `[[[[...`.
  const scan = scanJsonText(text, MAX_BODY_DEPTH);
  if (scan.tooDeep) {
    const message = `body nests deeper than ${MAX_BODY_DEPTH} levels`;
    throw badRequest([{ field: 'body', rule: 'maxDepth', message }]);
  }
  let value: unknown;
  try {
    value = secureJsonParse.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = `body is not valid JSON: ${(error as Error).message}`;
    throw badRequest([{ field: 'body', rule: 'isJson', message }]);
  }
  // The text gives more keys than the value holds: an object gave one twice, and JSON.parse kept the last.
  if (scan.keys !== keyCount(value)) {
    const path = text.length <= NAMED_DUPLICATE_MAX_BYTES ? duplicateKeyPath(text) : undefined;
    const field = path ? path.join('.') : 'body';
    const message = path
      ? `${field} is given more than once in its object; give each key once`
      : `an object in the body gives a key more than once (a body over ${NAMED_DUPLICATE_MAX_BYTES} bytes is not searched for which); give each key once`;
    throw badRequest([{ field, rule: 'duplicateKey', message }]);
  }
  return value;
}

/**
 * Makes parseJsonBody the only body parser: Fastify's application/json parser is replaced and its
 * text/plain one removed, so any other content type is answered 415. Fastify still enforces
 * MAX_BODY_BYTES (413) while reading the body, before the parser runs.
 */
export function installJsonBodyParser(fastify: FastifyInstance): void {
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
