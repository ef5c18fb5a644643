import { ApiProperty } from '@nestjs/swagger';
import { WorkerReport } from '@app/queue';

export class WorkerDto {
  @ApiProperty({
    example: 'worker-7f9c:41:a1b2c3',
    description: 'host:pid:random, stable for the life of the process (an HTTP worker: its worker_id)',
  })
  worker_id!: string;

  @ApiProperty({
    enum: ['native', 'http'],
    description:
      'native: a taskq worker process; http: a worker on the HTTP protocol (/work/*), reported at its claims, heartbeats and reports (its pid is 0, its host the address it calls from, its concurrency the max of its last claim, in_flight 0: the api does not follow its runs)',
  })
  kind!: 'native' | 'http';

  @ApiProperty({ example: 'worker-7f9c' })
  host!: string;

  @ApiProperty({ type: 'integer' })
  pid!: number;

  @ApiProperty({ type: [String], description: 'The queues it serves (WORKER_QUEUES)' })
  queues!: string[];

  @ApiProperty({ type: 'integer', description: 'WORKER_CONCURRENCY' })
  concurrency!: number;

  @ApiProperty({
    type: 'integer',
    description:
      'Tasks it was running at its last heartbeat (for a credential restricted to queues: of those queues only)',
  })
  in_flight!: number;

  @ApiProperty({ format: 'date-time' })
  started_at!: string;

  @ApiProperty({ format: 'date-time', description: 'Its last heartbeat (every third of TASK_LEASE_MS)' })
  last_seen!: string;

  static from(report: WorkerReport): WorkerDto {
    return {
      worker_id: report.id,
      kind: report.kind ?? 'native',
      host: report.host,
      pid: report.pid,
      queues: report.queues,
      concurrency: report.concurrency,
      in_flight: report.inFlight,
      started_at: new Date(report.startedAt).toISOString(),
      last_seen: new Date(report.lastSeen).toISOString(),
    };
  }
}

export class WorkerListDto {
  @ApiProperty({ type: [WorkerDto] })
  workers!: WorkerDto[];
}
