import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { QueueInspector } from '@app/queue';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { QueueListDto, QueueStatsDto } from './dto/queue-stats.dto';

@ApiTags('queues')
@Controller('queues')
export class QueuesController {
  constructor(private readonly inspector: QueueInspector) {}

  @Get()
  @ApiOperation({
    operationId: 'listQueues',
    summary: 'Per queue: tasks in each state and the age of the oldest queued task',
  })
  @ApiOkResponse({ type: QueueListDto })
  @ApiRedisUnavailableResponse()
  @NoQueryParameters()
  async list(): Promise<QueueListDto> {
    return { queues: (await this.inspector.allStats()).map(QueueStatsDto.from) };
  }
}
