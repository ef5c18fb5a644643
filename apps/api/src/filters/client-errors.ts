import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { REASON } from './http-error.filter';

const logger = new Logger('HttpClient');

/** Timeouts the HTTP server enforces, and what tells a socket's request in progress (headers read). */
export interface ClientErrorLimits {
  requestTimeoutMs: number;
  /** Headers must arrive within this (at most requestTimeoutMs). */
  headersTimeoutMs: number;
  /** The request whose headers were read last on the socket, if any (set by the server's `request` event). */
  requestOf?: (socket: Socket) => IncomingMessage | undefined;
}

/**
 * Why a request timed out: its headers did not arrive within the header timeout, or its body did not
 * arrive within REQUEST_TIMEOUT_MS. Node raises the same error for both; a socket whose latest
 * request has its headers but not its whole body is in the second case.
 */
function timeoutMessage(socket: Socket, limits: ClientErrorLimits): string {
  const request = limits.requestOf?.(socket);
  const waitingForBody = request !== undefined && !request.complete;
  if (waitingForBody || limits.headersTimeoutMs >= limits.requestTimeoutMs) {
    return `The request was not received within REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs} ms)`;
  }
  return `The request headers were not received within ${limits.headersTimeoutMs} ms (the header timeout; the whole request may take REQUEST_TIMEOUT_MS, ${limits.requestTimeoutMs} ms)`;
}

/** What the HTTP parser refused, by Node's error code: status and a message naming the limit. */
function describe(code: string | undefined, socket: Socket, limits: ClientErrorLimits): [number, string] {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, timeoutMessage(socket, limits)];
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'The request headers are larger than 16 KiB'];
    default:
      return [400, 'The request is not valid HTTP'];
  }
}

/**
 * Fastify's clientErrorHandler: errors Node's HTTP parser raises before any route runs (a request
 * whose headers or body did not arrive in time, headers over 16 KiB, bytes that are not HTTP)
 * answered in the api's error shape, logged at info without a stack (they are the client's, not
 * ours). A reset connection gets nothing: nobody is there to read it.
 */
export function clientErrorHandler(limits: ClientErrorLimits) {
  return function onClientError(error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, message] = describe(error.code, socket, limits);
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
