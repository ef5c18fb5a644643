import { Transform } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { SharedEnv, toInt } from '@app/config';

/** The worker's environment: the shared variables plus the pool, retry and shutdown settings. */
export class WorkerEnv extends SharedEnv {
  @Transform(toInt)
  @Max(65535)
  @Min(1)
  @IsInt()
  METRICS_PORT = 9101;

  @Transform(toInt)
  @Max(10_000)
  @Min(1)
  @IsInt()
  WORKER_CONCURRENCY = 10;

  @IsString()
  @Matches(/^[a-z0-9_-]{1,64}(:\d{1,4})?(,[a-z0-9_-]{1,64}(:\d{1,4})?)*$/, {
    message: 'WORKER_QUEUES must be a comma-separated list of queue[:weight], e.g. critical:6,default:3,low:1',
  })
  WORKER_QUEUES = 'default';

  @Transform(toInt)
  @Max(3_600_000)
  @Min(0)
  @IsInt()
  SHUTDOWN_GRACE_MS = 15_000;

  @Transform(toInt)
  @Max(86_400_000)
  @Min(1)
  @IsInt()
  RETRY_BACKOFF_BASE_MS = 1000;

  @Transform(toInt)
  @Max(7 * 86_400_000)
  @Min(1)
  @IsInt()
  RETRY_BACKOFF_MAX_MS = 3_600_000;

  /** How often the recoverer looks for expired leases (and promotes due tasks when the pool is full). */
  @Transform(toInt)
  @Max(600_000)
  @Min(100)
  @IsInt()
  RECOVERY_INTERVAL_MS = 5000;

  /** Longest an idle worker blocks waiting for a wake-up before checking again. */
  @Transform(toInt)
  @Max(60_000)
  @Min(10)
  @IsInt()
  WORKER_IDLE_WAIT_MS = 1000;

  /** A `missed: skip` schedule still runs a tick up to this late; a later tick is skipped as missed. */
  @Transform(toInt)
  @Max(86_400_000)
  @Min(0)
  @IsInt()
  SCHEDULE_MISFIRE_GRACE_MS = 60_000;
}
