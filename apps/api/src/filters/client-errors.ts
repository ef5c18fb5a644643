import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { REASON } from './http-error.filter';

const logger = new Logger('HttpClient');

/** What the HTTP parser refused, by Node's error code: status and a message naming the limit. */
function describe(code: string | undefined, limits: { requestTimeoutMs: number }): [number, string] {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, `The request was not received within REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs} ms)`];
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'The request headers are larger than 16 KiB'];
    default:
      return [400, 'The request is not valid HTTP'];
  }
}

/**
 * Fastify's clientErrorHandler: errors Node's HTTP parser raises before any route runs (a request
 * that did not arrive within REQUEST_TIMEOUT_MS, headers over 16 KiB, bytes that are not HTTP)
 * answered in the api's error shape, logged at info without a stack (they are the client's, not
 * ours). A reset connection gets nothing: nobody is there to read it.
 */
export function clientErrorHandler(limits: { requestTimeoutMs: number }) {
  return function onClientError(error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, message] = describe(error.code, limits);
    logger.log({ msg: `client error: ${message}`, code: error.code, status });
    const body = JSON.stringify({ statusCode: status, error: REASON[status], message });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${REASON[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
