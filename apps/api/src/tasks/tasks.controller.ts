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
import { Principal, visibleQueues } from '@app/auth';
import { InjectMetric, METRIC } from '@app/metrics';
import {
  FinishedStatus,
  isFinishedStatus,
  isTaskId,
  QueueAdmin,
  QueueError,
  QueueErrorCode,
  QueueInspector,
  refusedInState,
  TaskRecord,
  TaskWaiter,
} from '@app/queue';
import { HISTORY_CURSOR_PATTERN, ResultStore, TaskHistory } from '@app/results';
import { assertQueueAccess, assertTaskAccess, CurrentPrincipal, RequireScopes } from '../auth/access';
import { badRequest } from '../filters/api-errors';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { TaskGetQueryDto, TaskListQueryDto, TaskPageDto } from './dto/task-queries.dto';
import { TaskDto, TaskSummaryDto } from './dto/task.dto';
import { fromHistory, isNotFound, refusingArchived } from './from-history';

const TaskIdParam = () => ApiParam({ name: 'id', description: 'The task_id returned by /submit' });

@ApiTags('tasks')
@ApiRedisUnavailableResponse()
@Controller('tasks')
export class TasksController {
  constructor(
    private readonly inspector: QueueInspector,
    private readonly admin: QueueAdmin,
    private readonly waiter: TaskWaiter,
    private readonly history: TaskHistory,
    private readonly store: ResultStore,
    @InjectMetric(METRIC.cancelled) private readonly cancelled: Counter<string>,
  ) {}

  @Get()
  @RequireScopes('read')
  @ApiOperation({
    operationId: 'listTasks',
    summary:
      'Tasks in one state (or, with the PostgreSQL result store, every finished task), of one queue or every queue the caller may see',
    description:
      'Summaries only (no payload, result or last_error; GET /tasks/{id} has them). Pass next_cursor back as ' +
      'cursor until it is null. Waiting and running states come from Redis; with RESULTS_BACKEND=postgres, the ' +
      'finished states (succeeded, dead, cancelled, or no status) come from the PostgreSQL history, where since and ' +
      'until bound the finish time. q searches the listed tasks by id prefix, last_error and dead_reason.',
  })
  @ApiOkResponse({ type: TaskPageDto })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description:
      'status missing (RESULTS_BACKEND=redis), since/until without the PostgreSQL history, a bad filter, q, limit or cursor',
  })
  @ApiRedisUnavailableResponse('Redis, or PostgreSQL for finished tasks, unavailable; retry after Retry-After')
  async list(@CurrentPrincipal() principal: Principal, @Query() query: TaskListQueryDto): Promise<TaskPageDto> {
    if (query.queue !== undefined) assertQueueAccess(principal, query.queue);
    const fromHistory = this.history.enabled && (query.status === undefined || isFinishedStatus(query.status));
    if (fromHistory) return this.listHistory(principal, query);
    if (query.status === undefined) {
      const message = 'status is required: with RESULTS_BACKEND=redis tasks are listed one state at a time';
      throw badRequest([{ field: 'status', rule: 'isPresent', message }]);
    }
    for (const field of ['since', 'until'] as const) {
      if (query[field] !== undefined) {
        const message = `${field} bounds the finish time of the PostgreSQL task history (RESULTS_BACKEND=postgres, a finished status)`;
        throw badRequest([{ field, rule: 'needsHistory', message }]);
      }
    }
    const queues =
      query.queue !== undefined ? [query.queue] : visibleQueues(principal, await this.inspector.listQueues());
    const page = await this.inspector.listTasks({
      queues,
      status: query.status,
      taskType: query.task_type,
      search: query.q,
      limit: query.limit ?? 50,
      cursor: query.cursor,
    });
    return { tasks: page.tasks.map(TaskSummaryDto.from), next_cursor: page.nextCursor };
  }

  /** Finished tasks from PostgreSQL, newest finish first (keyset pages). */
  private async listHistory(principal: Principal, query: TaskListQueryDto): Promise<TaskPageDto> {
    if (query.queue === undefined && principal.queues !== null) {
      const message = `queue is required: ${principal.name} may use only some queues, and the history is listed one queue at a time for it`;
      throw badRequest([{ field: 'queue', rule: 'isPresent', message }]);
    }
    if (query.cursor !== undefined && !HISTORY_CURSOR_PATTERN.test(query.cursor)) {
      const message = 'cursor must be a next_cursor value from a previous page of this listing';
      throw badRequest([{ field: 'cursor', rule: 'matches', message }]);
    }
    const page = await this.history.list({
      queue: query.queue,
      status: query.status as FinishedStatus | undefined,
      taskType: query.task_type,
      search: query.q,
      since: query.since === undefined ? undefined : Date.parse(query.since),
      until: query.until === undefined ? undefined : Date.parse(query.until),
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
    return { tasks: page.tasks.map(TaskSummaryDto.from), next_cursor: page.nextCursor };
  }

  @Get(':id')
  @RequireScopes('read')
  @ApiOperation({
    operationId: 'getTask',
    summary: 'Status, attempts, result and timings of one task; with wait_ms, once it has finished',
    description:
      'Read from Redis first; with RESULTS_BACKEND=postgres a finished task that has left Redis is read from ' +
      'PostgreSQL (same fields).',
  })
  @TaskIdParam()
  @ApiOkResponse({ type: TaskDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad wait_ms, or an unknown parameter' })
  @ApiNotFoundResponse({
    type: ErrorBodyDto,
    description:
      'Unknown id, or finished longer than RESULT_TTL_SECONDS ago (redis) / RESULTS_RETENTION_DAYS ago (postgres)',
  })
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: TaskGetQueryDto,
  ): Promise<TaskDto> {
    assertTaskAccess(principal, id);
    try {
      if (query.wait_ms) await this.waiter.untilFinished(id, query.wait_ms);
      return TaskDto.from(await this.inspector.getTask(id));
    } catch (error) {
      // Not in Redis (any more): with the PostgreSQL result store, a finished task may be there.
      const archived = await fromHistory(this.history, id, error);
      if (!archived) throw error;
      return TaskDto.from(archived);
    }
  }

  @Post(':id/cancel')
  @RequireScopes('submit')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'cancelTask',
    summary: 'Cancel a task: a scheduled, queued or retrying one never runs; an active one is aborted',
    description:
      'Needs scope submit (producers may withdraw what they submitted) in a queue the credential may use. ' +
      'An active task loses its lease at once (its run can write no outcome) and the worker holding it fires the ' +
      "run's AbortSignal. Cancelled is a final state: not retried, not dead-lettered, not counted as failed.",
  })
  @TaskIdParam()
  @ApiOkResponse({ type: TaskDto, description: 'The task, now cancelled' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such task (or finished and expired)' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'The task has finished already (also one only the PostgreSQL history holds); the message says how',
  })
  @ApiRedisUnavailableResponse('Redis, or PostgreSQL for a task only it holds, unavailable; retry after Retry-After')
  @NoQueryParameters()
  async cancel(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<TaskDto> {
    assertTaskAccess(principal, id);
    const refuse = (archived: TaskRecord) => refusedInState('cancel', id, archived.status);
    const before = await refusingArchived(this.history, id, () => this.inspector.getTask(id), refuse);
    await refusingArchived(this.history, id, () => this.admin.cancel(id), refuse);
    this.cancelled.inc({ task_type: before.type, queue: before.queue });
    return TaskDto.from(await this.afterCancel(id, before));
  }

  @Post(':id/retry')
  @RequireScopes('admin')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'retryTask',
    summary: 'Run a finished task (succeeded, dead or cancelled) again, under the same id',
    description:
      'The task is queued again with attempts reset; its attempt history stays (the earlier runs, a succeeded one ' +
      'included), its result and end go. A dead task leaves the dead-letter queue. With RESULTS_BACKEND=postgres a ' +
      'task that has left Redis comes back from its history row, and the row goes until it finishes again; two ' +
      'retries at once queue it once (the second answers 409). A task submitted with unique_for_ms takes its ' +
      'uniqueness lock again, for unique_for_ms from now.',
  })
  @TaskIdParam()
  @ApiOkResponse({ type: TaskDto, description: 'The task, queued again' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such task (or finished and expired)' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'The task has not finished (the message says its state), or another unfinished task of the same type and payload holds its uniqueness lock (existing_task_id)',
  })
  @ApiRedisUnavailableResponse('Redis, or PostgreSQL for a task only it holds, unavailable; retry after Retry-After')
  @NoQueryParameters()
  async retry(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<TaskDto> {
    assertTaskAccess(principal, id);
    try {
      await this.admin.retry(id);
    } catch (error) {
      if (!isNotFound(error) || !this.history.enabled || !isTaskId(id)) throw error;
      // Left Redis: bring it back from its row. No row, or a concurrent retry brought it back first: Redis says.
      const restored = await this.store.restore(id, (task) => this.admin.restore(task));
      if (!restored) await this.admin.retry(id);
    }
    return TaskDto.from(await this.inspector.getTask(id));
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
