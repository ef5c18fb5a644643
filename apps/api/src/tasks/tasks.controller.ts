import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { isTaskId, QueueError, QueueErrorCode, QueueInspector } from '@app/queue';
import { TaskHistory } from '@app/results';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { TaskHistoryPageDto, TaskHistoryQueryDto } from './dto/task-history.dto';
import { TaskDto } from './dto/task.dto';

@ApiTags('tasks')
@Controller('tasks')
export class TasksController {
  constructor(
    private readonly inspector: QueueInspector,
    private readonly history: TaskHistory,
  ) {}

  @Get(':id')
  @ApiOperation({
    operationId: 'getTask',
    summary: 'Status, attempts, result and timings of one task',
    description:
      'Read from Redis first; with RESULTS_BACKEND=postgres a finished task that has left Redis is read from ' +
      'PostgreSQL (same fields).',
  })
  @ApiParam({ name: 'id', description: 'The task_id returned by /submit' })
  @ApiOkResponse({ type: TaskDto })
  @ApiNotFoundResponse({
    type: ErrorBodyDto,
    description:
      'Unknown id, or finished longer than RESULT_TTL_SECONDS ago (redis) / RESULTS_RETENTION_DAYS ago (postgres)',
  })
  @ApiRedisUnavailableResponse('Redis, or PostgreSQL for a task only it holds, unavailable; retry after Retry-After')
  @NoQueryParameters()
  async get(@Param('id') id: string): Promise<TaskDto> {
    try {
      return TaskDto.from(await this.inspector.getTask(id));
    } catch (error) {
      // Not in Redis (any more): with the postgres result store, a finished task may be there.
      const gone = error instanceof QueueError && error.code === QueueErrorCode.NotFound && isTaskId(id);
      const archived = gone && this.history.enabled ? await this.history.get(id) : null;
      if (!archived) throw error;
      return TaskDto.from(archived);
    }
  }

  @Get()
  @ApiOperation({
    operationId: 'listTaskHistory',
    summary: 'Finished tasks from the PostgreSQL result store, newest first (RESULTS_BACKEND=postgres)',
    description:
      'Paginated by cursor: pass next_cursor back as cursor until it is null. Filters combine; since/until ' +
      'bound the finish time.',
  })
  @ApiOkResponse({ type: TaskHistoryPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad filter, limit or cursor, or an unknown parameter' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No task history: the api runs with RESULTS_BACKEND=redis' })
  @ApiRedisUnavailableResponse('PostgreSQL unavailable; retry after Retry-After')
  async list(@Query() query: TaskHistoryQueryDto): Promise<TaskHistoryPageDto> {
    if (!this.history.enabled) {
      throw new NotFoundException('No task history: it needs RESULTS_BACKEND=postgres (this api runs with redis)');
    }
    const page = await this.history.list({
      queue: query.queue,
      status: query.status,
      taskType: query.task_type,
      since: query.since === undefined ? undefined : Date.parse(query.since),
      until: query.until === undefined ? undefined : Date.parse(query.until),
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
    return { tasks: page.tasks.map(TaskDto.from), next_cursor: page.nextCursor };
  }
}
