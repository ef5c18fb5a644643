import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { mayUseQueue, Principal } from '@app/auth';
import { WorkerRegistry } from '@app/queue';
import { CurrentPrincipal, RequireScopes } from '../auth/access';
import { ApiEnv } from '../config/api.env';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { WorkerDto, WorkerListDto } from './dto/worker.dto';

@ApiTags('workers')
@ApiRedisUnavailableResponse()
@NoQueryParameters()
@Controller('workers')
export class WorkersController {
  /** A worker reports every third of TASK_LEASE_MS; one silent for a whole lease is gone. */
  private readonly staleAfterMs: number;

  constructor(
    private readonly workers: WorkerRegistry,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.staleAfterMs = config.get('TASK_LEASE_MS', { infer: true });
  }

  @Get()
  @ApiOperation({
    operationId: 'listWorkers',
    summary: 'Live workers from their heartbeats: queues, concurrency, tasks in flight, last seen',
  })
  @ApiOkResponse({ type: WorkerListDto })
  @RequireScopes('read')
  async list(@CurrentPrincipal() principal: Principal): Promise<WorkerListDto> {
    const workers = (await this.workers.list(this.staleAfterMs)).flatMap((report) => {
      if (principal.queues === null) return [report];
      // A credential restricted to queues sees the workers serving them, with only those queues' names
      // and the runs of those queues (a worker of an earlier version reports no split: 0 then).
      const queues = report.queues.filter((queue) => mayUseQueue(principal, queue));
      if (queues.length === 0) return [];
      const inFlight = queues.reduce((sum, queue) => sum + (report.inFlightByQueue?.[queue] ?? 0), 0);
      return [{ ...report, queues, inFlight }];
    });
    return { workers: workers.map(WorkerDto.from) };
  }
}
