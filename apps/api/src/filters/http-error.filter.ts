import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { QueueError, QueueErrorCode } from '@app/queue';

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
}

/**
 * Every error leaves as `{statusCode, error, message, errors?}`: validation (400), Fastify's body
 * errors (400 malformed JSON, 413, 415), queue errors (404, 409, 503 + Retry-After). Anything else
 * is a bug: logged with its stack, answered 500 without internals.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = this.toBody(exception);
    if (body.statusCode === HttpStatus.SERVICE_UNAVAILABLE) reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
    void reply.status(body.statusCode).send(body);
  }

  toBody(exception: unknown): ErrorBody {
    if (exception instanceof QueueError) {
      const statusCode = STATUS_OF[exception.code];
      if (statusCode === HttpStatus.SERVICE_UNAVAILABLE) {
        this.logger.warn({ msg: exception.message, op: exception.op, maybeApplied: exception.maybeApplied });
        return {
          statusCode,
          error: REASON[statusCode],
          message: exception.maybeApplied
            ? 'The task store (Redis) did not answer in time (REDIS_COMMAND_TIMEOUT_MS); the write may still have been applied. Check (GET /tasks/{id}, GET /queues) before retrying, or accept a possible duplicate.'
            : 'The task store (Redis) is unavailable; nothing was written. Retry later.',
        };
      }
      return { statusCode, error: REASON[statusCode], message: exception.message };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && 'errors' in response) return response as ErrorBody;
      const message =
        typeof response === 'string'
          ? response
          : String((response as { message?: unknown }).message ?? exception.message);
      return { statusCode, error: REASON[statusCode] ?? exception.name, message };
    }
    const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
    if (typeof fastifyError?.code === 'string' && fastifyError.code.startsWith('FST_') && fastifyError.statusCode) {
      const statusCode = fastifyError.statusCode;
      return {
        statusCode,
        error: REASON[statusCode] ?? 'Error',
        message: describeFastifyError(fastifyError.code, fastifyError.message),
      };
    }
    this.logger.error({ msg: 'unhandled error', err: exception });
    return { statusCode: 500, error: REASON[500], message: 'Internal error; it has been logged.' };
  }
}

function describeFastifyError(code: string, message = ''): string {
  switch (code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Content-Type must be application/json';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request body is larger than MAX_BODY_BYTES';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Body is empty; send a JSON object';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return `Body is not valid JSON: ${message}`;
    default:
      return message;
  }
}
