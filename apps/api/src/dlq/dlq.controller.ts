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
import { DeadLetterAdmin, QueueInspector } from '@app/queue';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { TaskDto } from '../tasks/dto/task.dto';
import { DlqListQueryDto, DlqPageDto, DlqPurgeQueryDto, PurgeResultDto } from './dto/dlq.dto';

@ApiTags('dead-letter')
@ApiRedisUnavailableResponse()
@Controller('dlq')
export class DlqController {
  constructor(
    private readonly inspector: QueueInspector,
    private readonly admin: DeadLetterAdmin,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listDeadTasks',
    summary: 'Dead tasks of every queue (or of one), newest first, with the failure reason and last error',
    description:
      'Paginated by cursor: pass next_cursor back as cursor until it is null. The cursor is the position ' +
      '(death time, task id) of the last task shown, so pages are stable while tasks die or are requeued.',
  })
  @ApiOkResponse({ type: DlqPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Bad queue, limit or cursor, or an unknown parameter' })
  async list(@Query() query: DlqListQueryDto): Promise<DlqPageDto> {
    const queues = query.queue !== undefined ? [query.queue] : await this.inspector.listQueues();
    const page = await this.inspector.listDeadAcross(queues, query.limit ?? 50, query.cursor);
    return { tasks: page.tasks.map(TaskDto.from), next_cursor: page.nextCursor };
  }

  @Post(':id/requeue')
  @ApiOperation({ operationId: 'requeueDeadTask', summary: 'Put a dead task back in its queue with attempts reset' })
  @ApiOkResponse({ type: TaskDto, description: 'The task, now queued' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such task' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The task is not dead' })
  @NoQueryParameters()
  @HttpCode(HttpStatus.OK)
  async requeue(@Param('id') id: string): Promise<TaskDto> {
    await this.admin.requeue(id);
    return TaskDto.from(await this.inspector.getTask(id));
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'deleteDeadTask', summary: 'Delete one dead task' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such task' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The task is not dead' })
  @NoQueryParameters()
  async delete(@Param('id') id: string): Promise<void> {
    await this.admin.delete(id);
  }

  @Delete()
  @ApiOperation({ operationId: 'purgeDeadTasks', summary: 'Delete every dead task of one queue (queue is required)' })
  @ApiOkResponse({ type: PurgeResultDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'queue missing or malformed, or an unknown parameter' })
  async purge(@Query() query: DlqPurgeQueryDto): Promise<PurgeResultDto> {
    return { deleted: await this.admin.purge(query.queue) };
  }
}
