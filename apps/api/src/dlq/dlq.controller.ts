import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Principal, visibleQueues } from '@app/auth';
import { DeadLetterAdmin, QueueInspector, refusedInState, TaskRecord } from '@app/queue';
import { TaskHistory } from '@app/results';
import { assertQueueAccess, assertTaskAccess, CurrentPrincipal, RequireScopes } from '../auth/access';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { DeadTaskSummaryDto, TaskDto } from '../tasks/dto/task.dto';
import { refusingArchived } from '../tasks/from-history';
import { DlqListQueryDto, DlqPageDto, DlqPurgeQueryDto, PurgeResultDto } from './dto/dlq.dto';

/**
 * Only the history has the task (it left Redis): a dead one was deleted from the dead-letter queue (a dead
 * task in it keeps its hash), another finished one is not dead.
 */
const refuse = (op: 'requeueDead' | 'deleteDead', id: string) => (archived: TaskRecord) =>
  refusedInState(op, id, archived.status, true);

@ApiTags('dead-letter')
@ApiRedisUnavailableResponse()
@Controller('dlq')
export class DlqController {
  constructor(
    private readonly inspector: QueueInspector,
    private readonly admin: DeadLetterAdmin,
    private readonly history: TaskHistory,
  ) {}

  @Get()
  @RequireScopes('read')
  @ApiOperation({
    operationId: 'listDeadTasks',
    summary:
      'Dead tasks of every queue the caller may see (or of one), newest first, with the failure reason and last error',
    description:
      'Summaries: no payload or result (GET /tasks/{id} has them). Paginated by cursor: pass next_cursor back as ' +
      'cursor until it is null. The cursor is the position (death time, task id) of the last task shown, so pages ' +
      'are stable while tasks die or are requeued.',
  })
  @ApiOkResponse({ type: DlqPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Bad queue, limit or cursor, or an unknown parameter' })
  async list(@CurrentPrincipal() principal: Principal, @Query() query: DlqListQueryDto): Promise<DlqPageDto> {
    if (query.queue !== undefined) assertQueueAccess(principal, query.queue);
    const queues =
      query.queue !== undefined ? [query.queue] : visibleQueues(principal, await this.inspector.listQueues());
    const page = await this.inspector.listDeadAcross(queues, query.limit ?? 50, query.cursor);
    return { tasks: page.tasks.map((task) => DeadTaskSummaryDto.from(task)), next_cursor: page.nextCursor };
  }

  @Post(':id/requeue')
  @RequireScopes('admin')
  @ApiOperation({ operationId: 'requeueDeadTask', summary: 'Put a dead task back in its queue with attempts reset' })
  @ApiOkResponse({ type: TaskDto, description: 'The task, now queued' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such task' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'The task is not dead, or no longer in the dead-letter queue (also one only the PostgreSQL history holds); or another unfinished task of the same type and payload holds its uniqueness lock (existing_task_id)',
  })
  @ApiRedisUnavailableResponse('Redis, or PostgreSQL for a task only it holds, unavailable; retry after Retry-After')
  @NoQueryParameters()
  @HttpCode(HttpStatus.OK)
  async requeue(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<TaskDto> {
    assertTaskAccess(principal, id);
    await refusingArchived(this.history, id, () => this.admin.requeue(id), refuse('requeueDead', id));
    return TaskDto.from(await this.inspector.getTask(id));
  }

  @Delete(':id')
  @RequireScopes('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'deleteDeadTask', summary: 'Delete one dead task' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such task' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'The task is not dead, or no longer in the dead-letter queue (also one only the PostgreSQL history holds)',
  })
  @ApiRedisUnavailableResponse('Redis, or PostgreSQL for a task only it holds, unavailable; retry after Retry-After')
  @NoQueryParameters()
  async delete(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    assertTaskAccess(principal, id);
    await refusingArchived(this.history, id, () => this.admin.delete(id), refuse('deleteDead', id));
  }

  @Delete()
  @RequireScopes('admin')
  @ApiOperation({ operationId: 'purgeDeadTasks', summary: 'Delete every dead task of one queue (queue is required)' })
  @ApiOkResponse({ type: PurgeResultDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'queue missing or malformed, or an unknown parameter' })
  async purge(@CurrentPrincipal() principal: Principal, @Query() query: DlqPurgeQueryDto): Promise<PurgeResultDto> {
    assertQueueAccess(principal, query.queue);
    return { deleted: await this.admin.purge(query.queue) };
  }
}
