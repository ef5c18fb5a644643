import { IsEmail, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { dtoContract, TaskContract } from '../task-contract';

export class EmailPayload {
  @IsEmail()
  to!: string;

  @IsOptional()
  @IsString()
  @MaxLength(998)
  subject?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100_000)
  body?: string;
}

export class SleepPayload {
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  ms!: number;
}

export class FailPayload {
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  fail_times?: number;
}

/** The longest busy loop a `cpu` task may ask for. */
export const CPU_MAX_MS = 60_000;

export class CpuPayload {
  @IsInt()
  @Min(0)
  @Max(CPU_MAX_MS)
  ms!: number;
}

export const emailContract = dtoContract({
  type: 'email',
  description: 'Simulates sending an e-mail. Payload: an address, or {to, subject?, body?}.',
  dto: EmailPayload,
  example: 'hello@domain.com',
  defaults: { maxRetries: 5 },
  // The seed's example sends a bare address string.
  normalize: (payload) => (typeof payload === 'string' ? { to: payload } : payload),
});

export const echoContract: TaskContract<unknown> = {
  type: 'echo',
  description: 'Returns its payload as the result. Any JSON value.',
  example: { hello: 'world' },
  check: (payload) => ({ ok: true, value: payload }),
};

export const sleepContract = dtoContract({
  type: 'sleep',
  description: 'Waits {ms} milliseconds (honours the timeout), then succeeds.',
  dto: SleepPayload,
  example: { ms: 1000 },
});

export const failContract = dtoContract({
  type: 'fail',
  description: 'Fails its first {fail_times} attempts (always, when absent): shows retries and the dead-letter queue.',
  dto: FailPayload,
  example: { fail_times: 2 },
  defaults: { backoff: { baseMs: 200, maxMs: 2000 } },
});

export const cpuContract = dtoContract({
  type: 'cpu',
  description:
    'Busy-loops {ms} milliseconds (at most 60000) in a worker thread: the worker keeps renewing leases and running other tasks meanwhile.',
  dto: CpuPayload,
  example: { ms: 2000 },
  // A loop of the longest allowed length must fit inside the type's timeout.
  defaults: { timeoutMs: 2 * CPU_MAX_MS },
});

export const DEMO_CONTRACTS: readonly TaskContract<unknown>[] = [
  emailContract,
  echoContract,
  sleepContract,
  failContract,
  cpuContract,
];
