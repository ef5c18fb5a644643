import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put, Query } from '@nestjs/common';
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
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { QueueAdmin, QueueError, QueueErrorCode, QueueInspector } from '@app/queue';
import { badRequest } from '../filters/api-errors';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import {
  QueueHistoryDto,
  QueueHistoryQueryDto,
  QueueLimitsDto,
  QueueListDto,
  QueueStatsDto,
} from './dto/queue-stats.dto';

const QueueNameParam = () =>
  ApiParam({
    name: 'name',
    description: 'A queue name',
    schema: { type: 'string', pattern: QUEUE_NAME_PATTERN.source },
  });

/** The queue name of a route, or a 400 naming it. */
function queueName(name: string): string {
  if (!QUEUE_NAME_PATTERN.test(name)) {
    throw badRequest([{ field: 'name', rule: 'matches', message: 'name must be 1-64 characters of [a-z0-9_-]' }]);
  }
  return name;
}

@ApiTags('queues')
@ApiRedisUnavailableResponse()
@Controller('queues')
export class QueuesController {
  constructor(
    private readonly inspector: QueueInspector,
    private readonly admin: QueueAdmin,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listQueues',
    summary: 'Per queue: tasks in each state, the age of the oldest queued task, paused and limits',
  })
  @ApiOkResponse({ type: QueueListDto })
  @NoQueryParameters()
  async list(): Promise<QueueListDto> {
    return { queues: (await this.inspector.allStats()).map(QueueStatsDto.from) };
  }

  @Get(':name')
  @ApiOperation({ operationId: 'getQueue', summary: 'One queue: its counts, paused and limits' })
  @QueueNameParam()
  @ApiOkResponse({ type: QueueStatsDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such queue' })
  @NoQueryParameters()
  async get(@Param('name') name: string): Promise<QueueStatsDto> {
    return this.stats(queueName(name), true);
  }

  @Get(':name/history')
  @ApiOperation({
    operationId: 'getQueueHistory',
    summary: "The queue's outcomes per minute (succeeded, dead, retried, cancelled) over the last hour or two",
  })
  @QueueNameParam()
  @ApiOkResponse({ type: QueueHistoryDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad minutes value' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such queue' })
  async history(@Param('name') name: string, @Query() query: QueueHistoryQueryDto): Promise<QueueHistoryDto> {
    if (!(await this.inspector.queueExists(queueName(name)))) {
      throw new QueueError(QueueErrorCode.NotFound, 'history', `queue ${name} does not exist`);
    }
    const minutes = await this.inspector.history(name, query.minutes ?? 60);
    return {
      queue: name,
      minutes: minutes.map(({ minute, ...counts }) => ({ minute: new Date(minute).toISOString(), ...counts })),
    };
  }

  @Post(':name/pause')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'pauseQueue',
    summary: 'Workers stop claiming from the queue at their next claim; tasks in flight finish; submits go on',
  })
  @QueueNameParam()
  @ApiOkResponse({ type: QueueStatsDto })
  @NoQueryParameters()
  async pause(@Param('name') name: string): Promise<QueueStatsDto> {
    await this.admin.pause(queueName(name));
    return this.stats(name);
  }

  @Post(':name/resume')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'resumeQueue', summary: 'Workers claim from the queue again' })
  @QueueNameParam()
  @ApiOkResponse({ type: QueueStatsDto })
  @NoQueryParameters()
  async resume(@Param('name') name: string): Promise<QueueStatsDto> {
    await this.admin.resume(queueName(name));
    return this.stats(name);
  }

  @Put(':name/limits')
  @ApiOperation({
    operationId: 'setQueueLimits',
    summary: "Set the queue's rate limit (task starts per window) and concurrency cap, across every worker",
    description: 'Both fields are required; null removes that limit. A limited queue does not hold up the others.',
  })
  @QueueNameParam()
  @ApiBody({ type: QueueLimitsDto })
  @ApiOkResponse({ type: QueueStatsDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A missing or out-of-range limit' })
  @NoQueryParameters()
  async setLimits(@Param('name') name: string, @Body() limits: QueueLimitsDto): Promise<QueueStatsDto> {
    await this.admin.setLimits(queueName(name), {
      rate: limits.rate && { max: limits.rate.max, perMs: limits.rate.per_ms },
      concurrency: limits.concurrency,
    });
    return this.stats(name);
  }

  @Delete(':name')
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
  async forget(@Param('name') name: string): Promise<void> {
    await this.admin.forget(queueName(name));
  }

  private async stats(queue: string, mustExist = false): Promise<QueueStatsDto> {
    if (mustExist && !(await this.inspector.queueExists(queue))) {
      throw new QueueError(QueueErrorCode.NotFound, 'getQueue', `queue ${queue} does not exist`);
    }
    return QueueStatsDto.from(await this.inspector.stats(queue));
  }
}
