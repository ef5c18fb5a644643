import { Transform } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { SharedEnv } from '@app/config';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);

/** The worker's environment: the shared variables plus the pool, retry and shutdown settings. */
export class WorkerEnv extends SharedEnv {
  @Transform(toInt) @IsInt() @Min(1) @Max(65535)
  METRICS_PORT = 9101;

  @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  WORKER_CONCURRENCY = 10;

  @IsString()
  @Matches(/^[a-z0-9_-]{1,64}(:\d{1,4})?(,[a-z0-9_-]{1,64}(:\d{1,4})?)*$/, {
    message: 'WORKER_QUEUES must be a comma-separated list of queue[:weight], e.g. critical:6,default:3,low:1',
  })
  WORKER_QUEUES = 'default';

  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000)
  SHUTDOWN_GRACE_MS = 15_000;

  @Transform(toInt) @IsInt() @Min(1) @Max(86_400_000)
  RETRY_BACKOFF_BASE_MS = 1000;

  @Transform(toInt) @IsInt() @Min(1) @Max(7 * 86_400_000)
  RETRY_BACKOFF_MAX_MS = 3_600_000;

  /** How often the recoverer looks for expired leases (and promotes due tasks when the pool is full). */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  RECOVERY_INTERVAL_MS = 5000;

  /** Longest an idle worker blocks waiting for a wake-up before checking again. */
  @Transform(toInt) @IsInt() @Min(10) @Max(60_000)
  WORKER_IDLE_WAIT_MS = 1000;
}
