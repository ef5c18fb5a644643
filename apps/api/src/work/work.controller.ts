import {
  applyDecorators,
  Body,
  ConflictException,
  Controller,
  HttpCode,
  HttpStatus,
  Logger,
  Param,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { Principal } from '@app/auth';
import { TaskContractRegistry, typeBackoffDelayMs } from '@app/contracts';
import { InjectMetric, METRIC } from '@app/metrics';
import { LeaseEndedError, queueOfTaskId, REMOTE_CLAIM_LIMITS, RemoteWork, TypeDelay } from '@app/queue';
import { assertQueueAccess, assertTaskAccess, CurrentPrincipal, RequireScopes } from '../auth/access';
import { ApiEnv } from '../config/api.env';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import {
  ClaimedWorkDto,
  ClaimWorkDto,
  CompleteWorkDto,
  FailWorkDto,
  HeartbeatAnswerDto,
  HeartbeatDto,
  WorkOutcomeDto,
  WorkTaskDto,
} from './dto/work.dto';

const TaskIdParam = () => ApiParam({ name: 'id', description: 'The task_id of the claim' });
const BAD_REQUEST = 'Malformed JSON, or a missing, unknown or out-of-range field (named in errors)';
const NOT_FOUND = 'No such task (unknown id, or finished and expired)';
const LEASE_ENDED =
  "The lease is not this token's (it expired and the task was recovered, or the token is another run's), or the task was cancelled (`cancelled: true`): stop working on it. Nothing was written";

/** The error answers of a call about one claimed run (heartbeat, complete, fail); `conflict` says what its 409 means. */
const RunReportResponses = (conflict: string) =>
  applyDecorators(
    ApiBadRequestResponse({ type: ErrorBodyDto, description: BAD_REQUEST }),
    ApiNotFoundResponse({ type: ErrorBodyDto, description: NOT_FOUND }),
    ApiConflictResponse({ type: ErrorBodyDto, description: conflict }),
    ApiPayloadTooLargeResponse({ type: ErrorBodyDto, description: 'Body over MAX_BODY_BYTES' }),
    ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Content-Type is not application/json' }),
  );

/**
 * The HTTP worker protocol: a worker in any language claims tasks, keeps their leases with heartbeats
 * and reports each run's outcome, through the same scripts as a native worker (RemoteWork). Scope
 * `work`, in the queues the credential may use.
 */
@ApiTags('work')
@ApiRedisUnavailableResponse()
@NoQueryParameters()
@Controller('work')
export class WorkController {
  private readonly logger = new Logger(WorkController.name);
  private readonly maxResultBytes: number;
  private readonly typeDelay: TypeDelay;

  constructor(
    private readonly work: RemoteWork,
    contracts: TaskContractRegistry,
    @InjectMetric(METRIC.httpWorkerTasks) private readonly runs: Counter<string>,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.maxResultBytes = config.get('MAX_RESULT_BYTES', { infer: true });
    this.typeDelay = (type, attempt) => typeBackoffDelayMs(contracts.settingsFor(type).backoff, attempt);
  }

  @Post('claim')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('work')
  @ApiOperation({
    operationId: 'claimWork',
    summary: 'Claim tasks for an HTTP worker: up to max, from the queues in order, waiting up to wait_ms for one',
    description:
      'Each task comes with a lease (TASK_LEASE_MS): heartbeat before lease_expires_at to keep it, then complete or ' +
      'fail with its lease_token. A lease that ends is recovered (the task runs again, MAX_RECOVERIES times at most). ' +
      `Queue limits (rate, concurrency) and pauses hold as for native workers. wait_ms is at most ${REMOTE_CLAIM_LIMITS.maxWaitMs}.`,
  })
  @ApiBody({ type: ClaimWorkDto })
  @ApiOkResponse({ type: ClaimedWorkDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: BAD_REQUEST })
  @ApiPayloadTooLargeResponse({ type: ErrorBodyDto, description: 'Body over MAX_BODY_BYTES' })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Content-Type is not application/json' })
  async claim(
    @CurrentPrincipal() principal: Principal,
    @Body() body: ClaimWorkDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ClaimedWorkDto> {
    body.queues.forEach((queue, i) => assertQueueAccess(principal, queue, `queues.${i}`));
    // The worker hanging up ends the long-poll; tasks claimed just then go back to their queue.
    const hangUp = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) hangUp.abort();
    };
    reply.raw.once('close', onClose);
    try {
      const tasks = await this.work.claim({
        workerId: body.worker_id,
        queues: body.queues,
        taskTypes: body.task_types,
        max: body.max ?? 1,
        waitMs: body.wait_ms ?? 0,
        host: request.ip,
        signal: hangUp.signal,
      });
      for (const task of tasks) this.runs.inc({ queue: task.queue, outcome: 'claimed' });
      return { tasks: tasks.map(WorkTaskDto.from) };
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  @Post(':id/heartbeat')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('work')
  @ApiOperation({
    operationId: 'heartbeatWork',
    summary: "Extend a claimed task's lease by TASK_LEASE_MS",
    description:
      'Send one every third of the lease at least. A run past its timeout_ms is ended as timed out instead (409): retried ' +
      'after its backoff, or dead-lettered timeout on its last attempt.',
  })
  @TaskIdParam()
  @ApiBody({ type: HeartbeatDto })
  @ApiOkResponse({ type: HeartbeatAnswerDto })
  @RunReportResponses(`${LEASE_ENDED}; or the run passed its timeout_ms`)
  async heartbeat(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: HeartbeatDto,
  ): Promise<HeartbeatAnswerDto> {
    assertTaskAccess(principal, id);
    const expiresAt = await this.fenced(id, () => this.work.heartbeat(id, body.lease_token, this.typeDelay));
    return { task_id: id, lease_expires_at: new Date(expiresAt).toISOString() };
  }

  @Post(':id/complete')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('work')
  @ApiOperation({
    operationId: 'completeWork',
    summary: 'Report a run succeeded, with its result',
    description:
      "The task becomes succeeded and its result is stored as a native run's is; a result over MAX_RESULT_BYTES dead-letters " +
      'it result_too_large instead (status dead).',
  })
  @TaskIdParam()
  @ApiBody({ type: CompleteWorkDto })
  @ApiOkResponse({ type: WorkOutcomeDto })
  @RunReportResponses(LEASE_ENDED)
  async complete(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: CompleteWorkDto,
  ): Promise<WorkOutcomeDto> {
    assertTaskAccess(principal, id);
    const outcome = await this.fenced(id, () =>
      this.work.complete(id, body.lease_token, body.result, this.maxResultBytes),
    );
    const labels = labelsOf(id);
    if (outcome.status === 'dead') {
      this.runs.inc({ ...labels, outcome: 'dead' });
      this.logger.error({ msg: `task dead-lettered (${outcome.reason}): ${outcome.error}`, taskId: id });
      return { task_id: id, status: 'dead', dead_reason: outcome.reason };
    }
    this.runs.inc({ ...labels, outcome: 'succeeded' });
    return { task_id: id, status: 'succeeded' };
  }

  @Post(':id/fail')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('work')
  @ApiOperation({
    operationId: 'failWork',
    summary: 'Report a run failed: retried after its backoff while attempts remain, else dead-lettered',
    description:
      "The backoff is the task's own (given at submit), else its type's, else RETRY_BACKOFF_*; retryable false dead-letters " +
      'it non_retryable at once.',
  })
  @TaskIdParam()
  @ApiBody({ type: FailWorkDto })
  @ApiOkResponse({ type: WorkOutcomeDto })
  @RunReportResponses(LEASE_ENDED)
  async fail(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: FailWorkDto,
  ): Promise<WorkOutcomeDto> {
    assertTaskAccess(principal, id);
    const outcome = await this.fenced(id, () =>
      this.work.fail(id, body.lease_token, body.error, body.retryable ?? true, this.typeDelay),
    );
    const labels = labelsOf(id);
    if (outcome.status === 'dead') {
      this.runs.inc({ ...labels, outcome: 'dead' });
      this.logger.error({
        msg: `task dead-lettered (${outcome.reason}); inspect with GET /dlq, requeue with POST /dlq/${id}/requeue`,
        taskId: id,
        error: body.error.message,
      });
      return { task_id: id, status: 'dead', dead_reason: outcome.reason };
    }
    this.runs.inc({ ...labels, outcome: 'retried' });
    this.logger.warn({ msg: `task failed; retry in ${outcome.delayMs} ms`, taskId: id, error: body.error.message });
    return { task_id: id, status: 'retrying', next_run_at: new Date(outcome.retryAt).toISOString() };
  }

  /** A lease that ended answers 409, with `cancelled: true` when a cancel ended it. */
  private async fenced<T>(id: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof LeaseEndedError)) throw error;
      if (error.timedOut) this.logger.warn({ msg: error.message, taskId: id });
      throw new ConflictException({
        statusCode: HttpStatus.CONFLICT,
        error: 'Conflict',
        message: error.message,
        ...(error.cancelled ? { cancelled: true } : {}),
      });
    }
  }
}

/** A reported run's metric labels: its queue, read off its id (its type is not in the request). */
function labelsOf(id: string): { queue: string } {
  return { queue: queueOfTaskId(id) ?? '' };
}
