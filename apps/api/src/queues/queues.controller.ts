import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Logger, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Principal, visibleQueues } from '@app/auth';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { QueueAdmin, QueueError, QueueErrorCode, QueueInspector } from '@app/queue';
import { ResultStoreError, TaskHistory } from '@app/results';
import { assertQueueAccess, CurrentPrincipal, RequireScopes } from '../auth/access';
import { badRequest } from '../filters/api-errors';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { PurgeResultDto } from '../dlq/dto/dlq.dto';
import {
  HistoryCounts,
  QueueHistoryDto,
  QueueHistoryQueryDto,
  QueueLimitsDto,
  QueueListDto,
  QueueStatsDto,
  QueueTasksPurgeQueryDto,
} from './dto/queue-stats.dto';

/** Controls and forgetting need a queue that exists; they never create one. */
const NO_QUEUE =
  'No such queue: a queue exists once a task was submitted to it, a schedule targets it, or a worker serves it';

const QueueNameParam = () =>
  ApiParam({
    name: 'name',
    description: 'A queue name',
    schema: { type: 'string', pattern: QUEUE_NAME_PATTERN.source },
  });

/** The queue name of a route, or a 400 naming it; then a 403 unless the caller may use the queue. */
function queueName(name: string, principal: Principal): string {
  if (!QUEUE_NAME_PATTERN.test(name)) {
    throw badRequest([{ field: 'name', rule: 'matches', message: 'name must be 1-64 characters of [a-z0-9_-]' }]);
  }
  assertQueueAccess(principal, name, 'name');
  return name;
}

@ApiTags('queues')
@ApiRedisUnavailableResponse()
@Controller('queues')
export class QueuesController {
  private readonly logger = new Logger(QueuesController.name);

  constructor(
    private readonly inspector: QueueInspector,
    private readonly admin: QueueAdmin,
    private readonly taskHistory: TaskHistory,
  ) {}

  @Get()
  @RequireScopes('read')
  @ApiOperation({
    operationId: 'listQueues',
    summary:
      'Per queue the caller may see: tasks in each state, the age of the oldest queued task, whether a worker serves it, paused and limits',
    description: `Every queue (at most MAX_QUEUES created by submits, plus those workers serve), unpaginated.`,
  })
  @ApiOkResponse({ type: QueueListDto })
  @NoQueryParameters()
  async list(@CurrentPrincipal() principal: Principal): Promise<QueueListDto> {
    const queues = visibleQueues(principal, await this.inspector.listQueues());
    const [stats, history] = await Promise.all([
      Promise.all(queues.map((queue) => this.inspector.stats(queue))),
      this.historyCounts(queues),
    ]);
    return { queues: stats.map((one) => QueueStatsDto.from(one, history && history(one.queue))) };
  }

  @Get(':name')
  @RequireScopes('read')
  @ApiOperation({
    operationId: 'getQueue',
    summary: 'One queue: its counts, whether a worker serves it, paused and limits',
  })
  @QueueNameParam()
  @ApiOkResponse({ type: QueueStatsDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such queue' })
  @NoQueryParameters()
  async get(@CurrentPrincipal() principal: Principal, @Param('name') name: string): Promise<QueueStatsDto> {
    return this.stats(queueName(name, principal), true);
  }

  @Get(':name/history')
  @RequireScopes('read')
  @ApiOperation({
    operationId: 'getQueueHistory',
    summary: "The queue's outcomes per minute (succeeded, dead, retried, cancelled) over the last hour or two",
  })
  @QueueNameParam()
  @ApiOkResponse({ type: QueueHistoryDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad minutes value' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such queue' })
  async history(
    @CurrentPrincipal() principal: Principal,
    @Param('name') name: string,
    @Query() query: QueueHistoryQueryDto,
  ): Promise<QueueHistoryDto> {
    if (!(await this.inspector.queueExists(queueName(name, principal)))) {
      throw new QueueError(QueueErrorCode.NotFound, 'history', `queue ${name} does not exist`);
    }
    const minutes = await this.inspector.history(name, query.minutes ?? 60);
    return {
      queue: name,
      minutes: minutes.map(({ minute, ...counts }) => ({ minute: new Date(minute).toISOString(), ...counts })),
    };
  }

  @Post(':name/pause')
  @RequireScopes('admin')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'pauseQueue',
    summary: 'Workers stop claiming from the queue at their next claim; tasks in flight finish; submits go on',
  })
  @QueueNameParam()
  @ApiOkResponse({ type: QueueStatsDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: NO_QUEUE })
  @NoQueryParameters()
  async pause(@CurrentPrincipal() principal: Principal, @Param('name') name: string): Promise<QueueStatsDto> {
    await this.admin.pause(queueName(name, principal));
    return this.stats(name);
  }

  @Post(':name/resume')
  @RequireScopes('admin')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'resumeQueue', summary: 'Workers claim from the queue again' })
  @QueueNameParam()
  @ApiOkResponse({ type: QueueStatsDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: NO_QUEUE })
  @NoQueryParameters()
  async resume(@CurrentPrincipal() principal: Principal, @Param('name') name: string): Promise<QueueStatsDto> {
    await this.admin.resume(queueName(name, principal));
    return this.stats(name);
  }

  @Put(':name/limits')
  @RequireScopes('admin')
  @ApiOperation({
    operationId: 'setQueueLimits',
    summary: "Set the queue's rate limit (task starts per window) and concurrency cap, across every worker",
    description: 'Both fields are required; null removes that limit. A limited queue does not hold up the others.',
  })
  @QueueNameParam()
  @ApiBody({ type: QueueLimitsDto })
  @ApiOkResponse({ type: QueueStatsDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A missing or out-of-range limit' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: NO_QUEUE })
  @NoQueryParameters()
  async setLimits(
    @CurrentPrincipal() principal: Principal,
    @Param('name') name: string,
    @Body() limits: QueueLimitsDto,
  ): Promise<QueueStatsDto> {
    await this.admin.setLimits(queueName(name, principal), {
      rate: limits.rate && { max: limits.rate.max, perMs: limits.rate.per_ms },
      concurrency: limits.concurrency,
    });
    return this.stats(name);
  }

  @Delete(':name')
  @RequireScopes('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    operationId: 'forgetQueue',
    summary: 'Forget an empty queue: it leaves the listings and no longer counts against MAX_QUEUES',
  })
  @QueueNameParam()
  @ApiNoContentResponse({ description: 'Forgotten' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such queue' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'The queue still holds tasks (retained results and dead ones count)',
  })
  @NoQueryParameters()
  async forget(@CurrentPrincipal() principal: Principal, @Param('name') name: string): Promise<void> {
    await this.admin.forget(queueName(name, principal));
  }

  @Delete(':name/tasks')
  @RequireScopes('admin')
  @ApiOperation({
    operationId: 'purgeQueueTasks',
    summary:
      "Purge the queue's tasks waiting in one state (queued, scheduled or retrying); active ones are never touched",
    description:
      'Purged tasks are gone, as if never submitted: no record, no outcome, no row in the history; the queue counts ' +
      'them (purged). Each frees its uniqueness lock and wakes whoever waits for it, as a cancel would. Atomic per ' +
      'batch of 1000 (Redis is never blocked for long), until the state is empty or as many tasks went as it held ' +
      'when the purge began: tasks submitted meanwhile may stay.',
  })
  @QueueNameParam()
  @ApiOkResponse({ type: PurgeResultDto })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'status missing or not a waiting state, or an unknown parameter',
  })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such queue' })
  async purgeTasks(
    @CurrentPrincipal() principal: Principal,
    @Param('name') name: string,
    @Query() query: QueueTasksPurgeQueryDto,
  ): Promise<PurgeResultDto> {
    if (!(await this.inspector.queueExists(queueName(name, principal)))) {
      throw new QueueError(QueueErrorCode.NotFound, 'purgeTasks', `queue ${name} does not exist`);
    }
    const deleted = await this.admin.purge(name, query.status);
    this.logger.log({ msg: `purged ${deleted} ${query.status} task(s)`, queue: name, status: query.status, deleted });
    return { deleted };
  }

  private async stats(queue: string, mustExist = false): Promise<QueueStatsDto> {
    if (mustExist && !(await this.inspector.queueExists(queue))) {
      throw new QueueError(QueueErrorCode.NotFound, 'getQueue', `queue ${queue} does not exist`);
    }
    const [stats, history] = await Promise.all([this.inspector.stats(queue), this.historyCounts([queue])]);
    return QueueStatsDto.from(stats, history && history(queue));
  }

  /**
   * With RESULTS_BACKEND=postgres, succeeded and cancelled tasks leave Redis once written: their counts
   * come from the history (kept by triggers, a sum of a few rows per queue). PostgreSQL unreachable: null
   * counts, the rest of the answer as usual (an outage should not hide the queues). Undefined with redis.
   */
  private async historyCounts(queues: string[]): Promise<((queue: string) => HistoryCounts) | undefined> {
    if (!this.taskHistory.enabled) return undefined;
    try {
      const counts = await this.taskHistory.finishedCounts(queues);
      return (queue) => counts.get(queue) ?? { succeeded: 0, cancelled: 0 };
    } catch (error) {
      if (!(error instanceof ResultStoreError) || error.code !== 'unavailable') throw error;
      this.logger.warn({ msg: `finished counts unavailable: ${error.message}` });
      return () => null;
    }
  }
}
