import { createRequire } from 'node:module';
import { ThreadReply, ThreadRequest, ThreadTaskFunction, ThrownInThread } from './thread-protocol';

/**
 * The code every worker thread of the pool runs (piscina calls the default export once per request).
 * It loads a handler's module with Node's own `require` (webpack would resolve a bundle-time one),
 * once per thread, calls its function and sends back the result as JSON, or what it threw.
 */
const nodeRequire = createRequire(__filename);
const loaded = new Map<string, ThreadTaskFunction>();

function handlerOf(file: string, exportName: string): ThreadTaskFunction {
  const key = `${file}\n${exportName}`;
  let fn = loaded.get(key);
  if (!fn) {
    const exports = nodeRequire(file) as Record<string, unknown> | ((...args: unknown[]) => unknown);
    const candidate =
      typeof exports === 'function' ? (exportName === 'default' ? exports : undefined) : exports?.[exportName];
    if (typeof candidate !== 'function') {
      const names = typeof exports === 'object' && exports ? Object.keys(exports).join(', ') : '';
      throw new Error(`${file} exports no function named "${exportName}" (its exports: ${names || 'none'})`);
    }
    fn = candidate as ThreadTaskFunction;
    loaded.set(key, fn);
  }
  return fn;
}

export default async function runInThread(request: ThreadRequest): Promise<ThreadReply> {
  try {
    const fn = handlerOf(request.file, request.exportName);
    if (request.kind === 'load') return { ok: true, json: 'null' };
    const result = await fn(request.payload, request.context);
    try {
      // The string the outcome writer would store, made here: toJSON, dropped undefineds and all.
      return { ok: true, json: JSON.stringify(result ?? null) };
    } catch (error) {
      return { ok: true, unserializable: error instanceof Error ? error.message : String(error) };
    }
  } catch (error) {
    return { ok: false, thrown: thrownInThread(error) };
  }
}

function thrownInThread(error: unknown): ThrownInThread {
  if (error instanceof Error) {
    return {
      kind: 'error',
      name: error.name,
      message: error.message,
      stack: error.stack,
      nonRetryable: isNonRetryable(error),
    };
  }
  try {
    return { kind: 'value', value: structuredClone(error) };
  } catch {
    return { kind: 'value', value: String(error) };
  }
}

/**
 * A NonRetryableError (or a subclass), recognised by its class name: the handler's module is a bundle of
 * its own, with its own copy of the class, so `instanceof` against this bundle's copy would miss it.
 */
function isNonRetryable(error: Error): boolean {
  for (
    let proto = Object.getPrototypeOf(error);
    proto && proto !== Error.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === 'NonRetryableError') return true;
  }
  return false;
}
