import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { QueueInspector } from '@app/queue';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { TaskDto } from './dto/task.dto';

@ApiTags('tasks')
@Controller('tasks')
export class TasksController {
  constructor(private readonly inspector: QueueInspector) {}

  @Get(':id')
  @ApiOperation({ operationId: 'getTask', summary: 'Status, attempts, result and timings of one task' })
  @ApiParam({ name: 'id', description: 'The task_id returned by /submit' })
  @ApiOkResponse({ type: TaskDto })
  @ApiNotFoundResponse({
    type: ErrorBodyDto,
    description: 'Unknown id, or finished longer than RESULT_TTL_SECONDS ago',
  })
  @ApiRedisUnavailableResponse()
  @NoQueryParameters()
  async get(@Param('id') id: string): Promise<TaskDto> {
    return TaskDto.from(await this.inspector.getTask(id));
  }
}
