import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { DEFAULT_QUEUE } from '@app/contracts';
import { DeadLetterAdmin, QueueInspector } from '@app/queue';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { TaskDto } from '../tasks/dto/task.dto';
import { DlqListQueryDto, DlqPageDto, DlqQueueQueryDto, PurgeResultDto } from './dto/dlq.dto';

@ApiTags('dead-letter')
@ApiServiceUnavailableResponse({ type: ErrorBodyDto, description: 'Redis unavailable' })
@Controller('dlq')
export class DlqController {
  constructor(
    private readonly inspector: QueueInspector,
    private readonly admin: DeadLetterAdmin,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listDeadTasks',
    summary: 'Dead tasks of a queue with the failure reason and last error',
  })
  @ApiOkResponse({ type: DlqPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Bad queue, limit or cursor' })
  async list(@Query() query: DlqListQueryDto): Promise<DlqPageDto> {
    const page = await this.inspector.listDead(query.queue ?? DEFAULT_QUEUE, query.limit ?? 50, query.cursor);
    return { tasks: page.tasks.map(TaskDto.from), next_cursor: page.nextCursor };
  }

  @Post(':id/requeue')
  @ApiOperation({ operationId: 'requeueDeadTask', summary: 'Put a dead task back in its queue with attempts reset' })
  @ApiOkResponse({ type: TaskDto, description: 'The task, now queued' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such task' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The task is not dead' })
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
  async delete(@Param('id') id: string): Promise<void> {
    await this.admin.delete(id);
  }

  @Delete()
  @ApiOperation({ operationId: 'purgeDeadTasks', summary: 'Delete every dead task of a queue' })
  @ApiOkResponse({ type: PurgeResultDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Bad queue name' })
  async purge(@Query() query: DlqQueueQueryDto): Promise<PurgeResultDto> {
    return { deleted: await this.admin.purge(query.queue ?? DEFAULT_QUEUE) };
  }
}
