import Redis from 'ioredis';
import {
  AppProcess,
  checkQueueInvariant,
  deleteByPrefix,
  http,
  TEST_REDIS_URL,
  uniquePrefix,
  waitFor,
} from '@app/testing';

/** One api and any number of workers on a fresh prefix; everything stopped and deleted afterwards. */
export class Stack {
  readonly prefix = uniquePrefix('e2e');
  readonly redis: Redis;
  api!: AppProcess;
  readonly workers: AppProcess[] = [];

  constructor(
    private readonly env: Record<string, string> = {},
    readonly redisUrl = TEST_REDIS_URL,
  ) {
    this.redis = new Redis(redisUrl);
  }

  get baseEnv(): Record<string, string> {
    return {
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: this.prefix,
      RETRY_BACKOFF_BASE_MS: '20',
      RETRY_BACKOFF_MAX_MS: '100',
      ...this.env,
    };
  }

  async startApi(env: Record<string, string> = {}): Promise<AppProcess> {
    this.api = await AppProcess.start('api', { ...this.baseEnv, ...env });
    return this.api;
  }

  async startWorker(env: Record<string, string> = {}): Promise<AppProcess> {
    const worker = await AppProcess.start('worker', { ...this.baseEnv, ...env });
    this.workers.push(worker);
    return worker;
  }

  submit(body: unknown) {
    return http('POST', `${this.api.url}/submit`, body);
  }

  async submitOk(body: unknown): Promise<string> {
    const res = await this.submit(body);
    if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.task_id as string;
  }

  task(id: string) {
    return http('GET', `${this.api.url}/tasks/${id}`);
  }

  /** Polls GET /tasks/{id} until its status is one of `statuses`. */
  async waitForStatus(id: string, statuses: string[], timeoutMs = 15_000) {
    return waitFor(
      async () => {
        const res = await this.task(id);
        return statuses.includes(res.body?.status) ? res.body : undefined;
      },
      { timeoutMs, what: `task ${id} to be ${statuses.join('|')}` },
    );
  }

  /** Every key under this stack's prefix. */
  async keyCount(): Promise<number> {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
      count += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return count;
  }

  async invariant(queue = 'default'): Promise<string[]> {
    return checkQueueInvariant(this.redis, this.prefix, queue);
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.workers, this.api].filter(Boolean).map((app) => app.stop('SIGKILL').catch(() => undefined)),
    );
    await deleteByPrefix(this.redis, this.prefix).catch(() => undefined);
    this.redis.disconnect();
  }
}
