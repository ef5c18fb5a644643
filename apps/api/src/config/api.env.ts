import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { SharedEnv, toInt } from '@app/config';

/** The api's environment: the shared variables plus HTTP limits. */
export class ApiEnv extends SharedEnv {
  @Transform(toInt)
  @Max(65535)
  @Min(1)
  @IsInt()
  PORT = 8080;

  @Transform(toInt)
  @Max(65535)
  @Min(1)
  @IsInt()
  METRICS_PORT = 9100;

  /** Largest serialized payload of one task. */
  @Transform(toInt)
  @Max(64 * 1024 * 1024)
  @Min(1)
  @IsInt()
  MAX_PAYLOAD_BYTES = 256 * 1024;

  /** Most tasks in one POST /submit/batch. */
  @Transform(toInt)
  @Max(100_000)
  @Min(1)
  @IsInt()
  MAX_BATCH_SIZE = 1000;

  /** Largest request body (a batch is the largest request). */
  @Transform(toInt)
  @Max(1024 * 1024 * 1024)
  @Min(1024)
  @IsInt()
  MAX_BODY_BYTES = 16 * 1024 * 1024;
}
