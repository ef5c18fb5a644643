import type { RedisConnection } from '@app/queue';
import { AppStack, http, testRedisConnection, waitFor } from '@app/testing';

/** The e2e stack: the shared Redis (in its TEST_REDIS_MODE) unless given another, keys deleted when it stops. */
export class Stack extends AppStack {
  constructor(env: Record<string, string> = {}, target: RedisConnection | string = testRedisConnection()) {
    super(target, { label: 'e2e', env, deleteKeysOnStop: true });
  }

  submit(body: unknown) {
    return http('POST', `${this.api.url}/submit`, body);
  }

  async submitOk(body: unknown): Promise<string> {
    const res = await this.submit(body);
    if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.task_id as string;
  }

  /** POST /submit/batch that must be accepted; the ids in request order. */
  async submitBatch(tasks: unknown[]): Promise<string[]> {
    const res = await http('POST', `${this.api.url}/submit/batch`, { tasks });
    if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.task_ids as string[];
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
}
