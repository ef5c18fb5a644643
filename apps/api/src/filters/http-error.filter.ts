import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { QueueError, QueueErrorCode } from '@app/queue';
import { ResultStoreError } from '@app/results';

const STATUS_OF: Record<QueueErrorCode, number> = {
  [QueueErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [QueueErrorCode.WrongState]: HttpStatus.CONFLICT,
  [QueueErrorCode.LeaseLost]: HttpStatus.CONFLICT,
  [QueueErrorCode.Unavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [QueueErrorCode.LimitReached]: HttpStatus.CONFLICT,
  [QueueErrorCode.Conflict]: HttpStatus.CONFLICT,
  [QueueErrorCode.BadArgument]: HttpStatus.BAD_REQUEST,
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Seconds a client should wait before retrying when Redis is away. */
const RETRY_AFTER_SECONDS = 1;

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errors?: unknown[];
  existing_task_id?: string;
  written_task_ids?: string[];
}

/**
 * Every error leaves as `{statusCode, error, message, errors?}`: validation and the JSON body
 * parser (400), queue errors (404, 409, 503 + Retry-After), and the errors Fastify raises itself
 * (413 body too large, 415 content type, 400 bad Content-Length, 404 unknown route). Anything else
 * is a bug: logged with its stack, answered 500 without internals.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly limits: { maxBodyBytes: number }) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = this.toBody(exception);
    if (body.statusCode === HttpStatus.SERVICE_UNAVAILABLE) reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
    void reply.status(body.statusCode).send(body);
  }

  toBody(exception: unknown): ErrorBody {
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
        return {
          statusCode,
          error: REASON[statusCode],
          message: exception.message,
          existing_task_id: exception.existingId,
        };
      }
      return { statusCode, error: REASON[statusCode], message: exception.message };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && 'errors' in response) return response as ErrorBody;
      // Nest hands Fastify's own errors (body too large, media type, ...) over as HttpException(message, status).
      const message =
        typeof response === 'string'
          ? this.describeFastifyError(statusCode, response)
          : String((response as { message?: unknown }).message ?? exception.message);
      return { statusCode, error: REASON[statusCode] ?? exception.name, message };
    }
    // A batch that failed part-way on an unexpected error still says what it stored (in the log).
    const written = (exception as { written?: string[] } | null)?.written;
    this.logger.error({ msg: 'unhandled error', err: exception, ...(written ? { writtenTaskIds: written } : {}) });
    return { statusCode: 500, error: REASON[500], message: 'Internal error; it has been logged.' };
  }

  private describeFastifyError(statusCode: number, message: string): string {
    switch (statusCode) {
      case HttpStatus.PAYLOAD_TOO_LARGE:
        return `Request body is larger than MAX_BODY_BYTES (${this.limits.maxBodyBytes} bytes)`;
      case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
        return 'Content-Type must be application/json';
      default:
        return message;
    }
  }
}
