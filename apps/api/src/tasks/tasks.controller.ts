import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Counter } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { QueueAdmin, QueueError, QueueErrorCode, QueueInspector, TaskRecord, TaskWaiter } from '@app/queue';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { TaskGetQueryDto, TaskListQueryDto, TaskPageDto } from './dto/task-queries.dto';
import { TaskDto, TaskSummaryDto } from './dto/task.dto';

const TaskIdParam = () => ApiParam({ name: 'id', description: 'The task_id returned by /submit' });

@ApiTags('tasks')
@ApiRedisUnavailableResponse()
@Controller('tasks')
export class TasksController {
  constructor(
    private readonly inspector: QueueInspector,
    private readonly admin: QueueAdmin,
    private readonly waiter: TaskWaiter,
    @InjectMetric(METRIC.cancelled) private readonly cancelled: Counter<string>,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listTasks',
    summary: 'Tasks in one state, of one queue or all, optionally of one type; paginated by cursor',
    description:
      'Summaries only (no payload, result or last_error; GET /tasks/{id} has them). Pass next_cursor back as cursor until it is null.',
  })
  @ApiOkResponse({ type: TaskPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'status missing, a bad filter, limit or cursor' })
  async list(@Query() query: TaskListQueryDto): Promise<TaskPageDto> {
    const queues = query.queue !== undefined ? [query.queue] : await this.inspector.listQueues();
    const page = await this.inspector.listTasks({
      queues,
      status: query.status,
      taskType: query.task_type,
      limit: query.limit ?? 50,
      cursor: query.cursor,
    });
    return { tasks: page.tasks.map(TaskSummaryDto.from), next_cursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({
    operationId: 'getTask',
    summary: 'Status, attempts, result and timings of one task; with wait_ms, once it has finished',
  })
  @TaskIdParam()
  @ApiOkResponse({ type: TaskDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad wait_ms, or an unknown parameter' })
  @ApiNotFoundResponse({
    type: ErrorBodyDto,
    description: 'Unknown id, or finished longer than RESULT_TTL_SECONDS ago',
  })
  async get(@Param('id') id: string, @Query() query: TaskGetQueryDto): Promise<TaskDto> {
    if (query.wait_ms) await this.waiter.untilFinished(id, query.wait_ms);
    return TaskDto.from(await this.inspector.getTask(id));
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'cancelTask',
    summary: 'Cancel a task: a scheduled, queued or retrying one never runs; an active one is aborted',
    description:
      'An active task loses its lease at once (its run can write no outcome) and the worker holding it fires the ' +
      "run's AbortSignal. Cancelled is a final state: not retried, not dead-lettered, not counted as failed.",
  })
  @TaskIdParam()
  @ApiOkResponse({ type: TaskDto, description: 'The task, now cancelled' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such task (or finished and expired)' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The task has finished already; the message says how' })
  @NoQueryParameters()
  async cancel(@Param('id') id: string): Promise<TaskDto> {
    const before = await this.inspector.getTask(id);
    await this.admin.cancel(id);
    this.cancelled.inc({ task_type: before.type, queue: before.queue });
    return TaskDto.from(await this.afterCancel(id, before));
  }

  /** The task as cancelled; with RESULT_TTL_SECONDS=0 it is deleted at once, so shown from before. */
  private async afterCancel(id: string, before: TaskRecord): Promise<TaskRecord> {
    try {
      return await this.inspector.getTask(id);
    } catch (error) {
      if (!(error instanceof QueueError) || error.code !== QueueErrorCode.NotFound) throw error;
      const now = Date.now();
      return { ...before, status: 'cancelled', cancelledAt: now, finishedAt: now };
    }
  }
}
