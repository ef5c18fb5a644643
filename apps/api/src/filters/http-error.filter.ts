import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QuotaExceeded } from '@app/auth';
import { QueueError, QueueErrorCode } from '@app/queue';
import { ResultStoreError } from '@app/results';
import { MESSAGE_NOTE } from './api-errors';

const STATUS_OF: Record<QueueErrorCode, number> = {
  [QueueErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [QueueErrorCode.WrongState]: HttpStatus.CONFLICT,
  [QueueErrorCode.LeaseLost]: HttpStatus.CONFLICT,
  [QueueErrorCode.Unavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [QueueErrorCode.LimitReached]: HttpStatus.CONFLICT,
  [QueueErrorCode.Conflict]: HttpStatus.CONFLICT,
  [QueueErrorCode.BadArgument]: HttpStatus.BAD_REQUEST,
};

export const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * Field errors one answer carries at most: a batch of 1000 bad tasks answers with the first 20 and a
 * count of the rest, not a megabyte of errors. Applied here, where every error leaves.
 */
export const MAX_FIELD_ERRORS = 20;

function capped(body: ErrorBody): ErrorBody {
  if (!body.errors || body.errors.length <= MAX_FIELD_ERRORS) return body;
  const shown = body.errors.slice(0, MAX_FIELD_ERRORS) as { message?: string }[];
  const more = body.errors.length - shown.length;
  const note = (body as { [MESSAGE_NOTE]?: string })[MESSAGE_NOTE];
  return {
    ...body,
    message: `${shown.map((e) => e.message).join('; ')}; and ${more} more errors not shown${note ? `; ${note}` : ''}`,
    errors: shown,
  };
}

/** Fastify's own routing errors, which never reach a route: answered in the api's error shape. */
export function frameworkErrors(
  error: { code?: string; statusCode?: number },
  _request: unknown,
  reply: FastifyReply,
): void {
  const statusCode = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? HttpStatus.URI_TOO_LONG : HttpStatus.BAD_REQUEST;
  const message =
    statusCode === HttpStatus.URI_TOO_LONG
      ? `A path parameter is longer than ${MAX_PARAM_LENGTH} characters`
      : 'The URL has a malformed component (bad percent-encoding)';
  void reply.status(statusCode).send({ statusCode, error: REASON[statusCode], message });
}

/** The client went away while sending its body: nothing to answer, nobody to blame. */
const ABORTED = /^(aborted|ECONNRESET)$/;

/** Longest path parameter (Fastify's maxParamLength; longer answers 414). Task ids are 101 characters. */
export const MAX_PARAM_LENGTH = 200;

/** Seconds a client should wait before retrying when Redis is away. */
const RETRY_AFTER_SECONDS = 1;

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errors?: unknown[];
  existing_task_id?: string;
  written_task_ids?: string[];
  missing_scope?: string;
  queue?: string;
}

/** Limits the messages of Fastify's own errors name. */
export interface ErrorFilterLimits {
  maxBodyBytes: number;
  /** How each route's body limit is explained: `MAX_BODY_BYTES`, `MAX_PAYLOAD_BYTES + 65536`, ... */
  describeBodyLimit?: (limit: number) => string;
}

/**
 * Every error leaves as `{statusCode, error, message, errors?}`: validation and the JSON body
 * parser (400), authentication (401 + WWW-Authenticate, 403), rate limits and quotas (429 +
 * Retry-After), queue errors (404, 409, 503 + Retry-After), and the errors Fastify raises itself
 * (413 body too large, 414 a path parameter too long, 415 content type, 400 bad Content-Length, 404
 * unknown route; 408 and 431 come from the HTTP parser, see client-errors.ts). A client that
 * aborts its upload is logged at info. Anything else is a bug: logged with its stack, answered 500
 * without internals.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly limits: ErrorFilterLimits) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    if (this.aborted(exception)) {
      this.logger.log({ msg: 'client aborted the request before its body was read', route: request.url });
      void reply.status(HttpStatus.BAD_REQUEST).send({
        statusCode: HttpStatus.BAD_REQUEST,
        error: REASON[400],
        message: 'The request body ended early (the client aborted it)',
      });
      return;
    }
    const body = this.toBody(exception, request?.routeOptions?.bodyLimit);
    const headers = (exception as { headers?: unknown } | null)?.headers;
    if (exception instanceof HttpException && headers && typeof headers === 'object') {
      for (const [name, value] of Object.entries(headers)) reply.header(name, value);
    }
    if (body.statusCode === HttpStatus.SERVICE_UNAVAILABLE) reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
    if (exception instanceof QuotaExceeded) reply.header('Retry-After', String(exception.retryAfterSeconds));
    void reply.status(body.statusCode).send(capped(body));
  }

  /** An upload the client cut off (Node reports `aborted`, code ECONNRESET, on the request stream). */
  private aborted(exception: unknown): boolean {
    const error = exception as { code?: unknown; message?: unknown } | null;
    return (
      !(exception instanceof HttpException) &&
      (ABORTED.test(String(error?.code ?? '')) || ABORTED.test(String(error?.message ?? '')))
    );
  }

  toBody(exception: unknown, routeBodyLimit?: number): ErrorBody {
    if (exception instanceof QuotaExceeded) {
      return { statusCode: HttpStatus.TOO_MANY_REQUESTS, error: REASON[429], message: exception.message };
    }
    if (exception instanceof ResultStoreError && exception.code === 'unavailable') {
      this.logger.warn({ msg: exception.message, op: exception.op });
      const statusCode = HttpStatus.SERVICE_UNAVAILABLE;
      return {
        statusCode,
        error: REASON[statusCode],
        message: 'The result store (PostgreSQL) is unavailable; nothing was changed. Retry later.',
      };
    }
    if (exception instanceof QueueError) {
      const statusCode = STATUS_OF[exception.code];
      if (statusCode === HttpStatus.SERVICE_UNAVAILABLE) {
        this.logger.warn({
          msg: exception.message,
          op: exception.op,
          maybeApplied: exception.maybeApplied,
          written: exception.written?.length,
        });
        const message = exception.maybeApplied
          ? 'The task store (Redis) did not answer in time (REDIS_COMMAND_TIMEOUT_MS); the write may still have been applied. Check (GET /tasks/{id}, GET /queues) before retrying, resubmit with the same Idempotency-Key, or accept a possible duplicate.'
          : 'The task store (Redis) is unavailable; nothing was written. Retry later.';
        if (!exception.written?.length) return { statusCode, error: REASON[statusCode], message };
        return {
          statusCode,
          error: REASON[statusCode],
          message: `Part of the batch was stored before Redis failed (written_task_ids); the rest was not. ${message}`,
          written_task_ids: exception.written,
        };
      }
      if (exception.existingId !== undefined) {
        // A batch over several queues: the other queues' parts may be stored (each part is atomic).
        const written = exception.written?.length ? exception.written : undefined;
        return {
          statusCode,
          error: REASON[statusCode],
          message: written
            ? `${exception.message}. Nothing of that task's queue was written; the batch's other queues were (written_task_ids)`
            : exception.message,
          existing_task_id: exception.existingId,
          ...(written ? { written_task_ids: written } : {}),
        };
      }
      return { statusCode, error: REASON[statusCode], message: exception.message };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && 'errors' in response) return response as ErrorBody;
      // Nest hands Fastify's own errors (body too large, media type, ...) over as HttpException(message, status).
      if (typeof response === 'object' && response !== null && 'statusCode' in response && 'error' in response) {
        return response as ErrorBody;
      }
      const message =
        typeof response === 'string'
          ? this.describeFastifyError(statusCode, response, routeBodyLimit)
          : String((response as { message?: unknown }).message ?? exception.message);
      return { statusCode, error: REASON[statusCode] ?? exception.name, message };
    }
    // A batch that failed part-way on an unexpected error still says what it stored (in the log).
    const written = (exception as { written?: string[] } | null)?.written;
    this.logger.error({ msg: 'unhandled error', err: exception, ...(written ? { writtenTaskIds: written } : {}) });
    return { statusCode: 500, error: REASON[500], message: 'Internal error; it has been logged.' };
  }

  private describeFastifyError(statusCode: number, message: string, routeBodyLimit?: number): string {
    switch (statusCode) {
      case HttpStatus.PAYLOAD_TOO_LARGE: {
        const limit = routeBodyLimit ?? this.limits.maxBodyBytes;
        const name = this.limits.describeBodyLimit?.(limit) ?? 'MAX_BODY_BYTES';
        return `Request body is larger than ${name} (${limit} bytes)`;
      }
      case HttpStatus.URI_TOO_LONG:
        return `A path parameter is longer than ${MAX_PARAM_LENGTH} characters`;
      case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
        return 'Content-Type must be application/json';
      default:
        return message;
    }
  }
}
