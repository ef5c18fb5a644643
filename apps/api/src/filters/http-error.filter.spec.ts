import { ArgumentsHost, HttpException, HttpStatus, Logger, PayloadTooLargeException } from '@nestjs/common';
import { QuotaExceeded } from '@app/auth';
import { QueueError, QueueErrorCode } from '@app/queue';
import { ResultStoreError } from '@app/results';
import { badRequest } from './api-errors';
import { HttpErrorFilter, MAX_FIELD_ERRORS } from './http-error.filter';

/** The body every error leaves with, from the exception alone (what the e2e suite sees over HTTP, here case by case). */
describe('HttpErrorFilter', () => {
  const filter = new HttpErrorFilter({
    maxBodyBytes: 16_777_216,
    describeBodyLimit: (limit) => (limit === 1000 ? 'MAX_PAYLOAD_BYTES + 65536' : 'MAX_BODY_BYTES'),
  });
  const queueError = (code: QueueErrorCode, options?: ConstructorParameters<typeof QueueError>[3]) =>
    new QueueError(code, 'op', `what happened (${code})`, options);

  beforeAll(() => Logger.overrideLogger(false));

  it('maps each queue error code to its status, with the queue error’s own message', () => {
    const statuses = Object.fromEntries(
      Object.values(QueueErrorCode)
        .filter((code) => code !== QueueErrorCode.Unavailable)
        .map((code) => [code, filter.toBody(queueError(code))]),
    );
    expect(statuses).toEqual({
      not_found: { statusCode: 404, error: 'Not Found', message: 'what happened (not_found)' },
      wrong_state: { statusCode: 409, error: 'Conflict', message: 'what happened (wrong_state)' },
      lease_lost: { statusCode: 409, error: 'Conflict', message: 'what happened (lease_lost)' },
      limit_reached: { statusCode: 409, error: 'Conflict', message: 'what happened (limit_reached)' },
      conflict: { statusCode: 409, error: 'Conflict', message: 'what happened (conflict)' },
      bad_argument: { statusCode: 400, error: 'Bad Request', message: 'what happened (bad_argument)' },
    });
  });

  it('names the existing task of a conflict', () => {
    expect(filter.toBody(queueError(QueueErrorCode.Conflict, { existingId: 'default.x' }))).toMatchObject({
      statusCode: 409,
      existing_task_id: 'default.x',
    });
  });

  it('answers Redis unavailable with 503, saying whether the write may have been applied and what was written', () => {
    expect(filter.toBody(queueError(QueueErrorCode.Unavailable, { maybeApplied: false }))).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'The task store (Redis) is unavailable; nothing was written. Retry later.',
    });
    expect(filter.toBody(queueError(QueueErrorCode.Unavailable, { maybeApplied: true })).message).toMatch(
      /did not answer in time \(REDIS_COMMAND_TIMEOUT_MS\); the write may still have been applied/,
    );
    expect(
      filter.toBody(queueError(QueueErrorCode.Unavailable, { maybeApplied: false, written: ['a.1', 'a.2'] })),
    ).toMatchObject({
      statusCode: 503,
      message: expect.stringMatching(/^Part of the batch was stored before Redis failed \(written_task_ids\)/),
      written_task_ids: ['a.1', 'a.2'],
    });
  });

  it('answers a quota with 429 and the quota’s message, and the result store away with 503', () => {
    expect(filter.toBody(new QuotaExceeded('tasks', 10, 10, 1, 30, 3600))).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringContaining('quota of 10 tasks per 3600 s reached'),
    });
    expect(filter.toBody(new ResultStoreError('unavailable', 'read', 'connection refused'))).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'The result store (PostgreSQL) is unavailable; nothing was changed. Retry later.',
    });
  });

  it('passes a field-error body through as it is, and explains Fastify’s bare errors with the limit’s name', () => {
    const fields = badRequest([{ field: 'priority', rule: 'max', message: 'priority must not be greater than 100' }]);
    expect(filter.toBody(fields)).toEqual(fields.getResponse());
    // Nest hands Fastify's errors over as HttpException(message, status); a built Nest exception passes through.
    expect(filter.toBody(new PayloadTooLargeException('too large'))).toMatchObject({ message: 'too large' });
    expect(filter.toBody(new HttpException('Request body is too large', HttpStatus.PAYLOAD_TOO_LARGE))).toMatchObject({
      statusCode: 413,
      message: 'Request body is larger than MAX_BODY_BYTES (16777216 bytes)',
    });
    expect(filter.toBody(new HttpException('too large', HttpStatus.PAYLOAD_TOO_LARGE), 1000).message).toBe(
      'Request body is larger than MAX_PAYLOAD_BYTES + 65536 (1000 bytes)',
    );
    expect(filter.toBody(new HttpException('unsupported', HttpStatus.UNSUPPORTED_MEDIA_TYPE)).message).toBe(
      'Content-Type must be application/json',
    );
    expect(filter.toBody(new HttpException('long', HttpStatus.URI_TOO_LONG)).message).toBe(
      'A path parameter is longer than 200 characters',
    );
  });

  it('answers anything else 500 without internals', () => {
    expect(filter.toBody(new Error('secret detail at /srv/app.js:12'))).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal error; it has been logged.',
    });
  });

  describe('catch (the reply)', () => {
    function reply() {
      const sent: { status?: number; headers: Record<string, unknown>; body?: unknown } = { headers: {} };
      const fastifyReply = {
        status: (code: number) => ((sent.status = code), fastifyReply),
        header: (name: string, value: unknown) => ((sent.headers[name] = value), fastifyReply),
        send: (body: unknown) => ((sent.body = body), fastifyReply),
      };
      const host = {
        switchToHttp: () => ({
          getResponse: () => fastifyReply,
          getRequest: () => ({ url: '/submit', routeOptions: {} }),
        }),
      } as unknown as ArgumentsHost;
      return { sent, host };
    }

    it(`sends at most ${MAX_FIELD_ERRORS} field errors, and says how many more there were`, () => {
      const { sent, host } = reply();
      const errors = Array.from({ length: 25 }, (_, i) => ({ field: `tasks.${i}`, rule: 'r', message: `bad ${i}` }));
      filter.catch(badRequest(errors, 'nothing was written'), host);
      const body = sent.body as { errors: unknown[]; message: string };
      expect(sent.status).toBe(400);
      expect(body.errors).toHaveLength(MAX_FIELD_ERRORS);
      expect(body.message).toMatch(/; bad 19; and 5 more errors not shown; nothing was written$/);
    });

    it('sets Retry-After on a 503 (1 s) and on a quota (its window)', () => {
      const unavailable = reply();
      filter.catch(queueError(QueueErrorCode.Unavailable), unavailable.host);
      expect([unavailable.sent.status, unavailable.sent.headers['Retry-After']]).toEqual([503, '1']);
      const quota = reply();
      filter.catch(new QuotaExceeded('tasks', 10, 10, 1, 30, 3600), quota.host);
      expect([quota.sent.status, quota.sent.headers['Retry-After']]).toEqual([429, '30']);
    });

    it('answers an upload the client cut off with 400, not 500', () => {
      const { sent, host } = reply();
      filter.catch(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), host);
      expect(sent).toMatchObject({
        status: 400,
        body: { message: 'The request body ended early (the client aborted it)' },
      });
    });
  });
});
