/**
 * The fault suite's HTTP worker (run with ts-node): claims `chaos` tasks of QUEUES over the api's /work
 * protocol, records each run as the native chaos handler does (so the suite counts repeats instead of
 * guessing), runs `behaviour: run` for its `ms` while heartbeating, and completes it. Killed with SIGKILL by
 * the suite; it never reports a run it did not finish.
 *
 *   TASKQ_URL= REDIS_URL= QUEUE_PREFIX= QUEUES=remote SLOTS=8 LEASE_MS=2000 WORKER_ID=... node -r ts-node/register ...
 */
import Redis from 'ioredis';
import { faultRunKeys } from '@app/contracts';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const url = env('TASKQ_URL');
const keys = faultRunKeys(env('QUEUE_PREFIX'));
const queues = env('QUEUES').split(',');
const slots = Number(process.env.SLOTS ?? 8);
const leaseMs = Number(process.env.LEASE_MS ?? 30_000);
const workerId = process.env.WORKER_ID ?? `http-chaos-${process.pid}`;
const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 1 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface WorkTask {
  task_id: string;
  attempt: number;
  lease_token: string;
  payload: { behaviour?: string; ms?: number };
}

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(35_000),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

async function run(task: WorkTask): Promise<void> {
  await redis
    .multi()
    .hincrby(keys.runs, task.task_id, 1)
    .rpush(keys.log, `${task.task_id} ${process.pid} ${task.attempt} ${Date.now()}`)
    .exec();
  let lost = false;
  const beat = setInterval(() => {
    post(`/work/${task.task_id}/heartbeat`, { lease_token: task.lease_token })
      .then((res) => {
        if (res.status === 409) lost = true;
      })
      .catch(() => undefined);
  }, leaseMs / 3);
  try {
    await sleep(task.payload.ms ?? 0);
  } finally {
    clearInterval(beat);
  }
  if (lost) return;
  // A network blip or a 503 is retried while the lease may hold; a 409 (lease ended) or 404 is final.
  for (let tries = 0; tries < 20; tries++) {
    const res = await post(`/work/${task.task_id}/complete`, {
      lease_token: task.lease_token,
      result: { ran_ms: task.payload.ms ?? 0, attempt: task.attempt },
    }).catch(() => undefined);
    if (res && res.status < 500) return;
    await sleep(100);
  }
}

async function slot(): Promise<void> {
  for (;;) {
    const res = await post('/work/claim', { worker_id: workerId, queues, max: 1, wait_ms: 1000 }).catch(
      () => undefined,
    );
    if (!res || res.status !== 200) {
      await sleep(200);
      continue;
    }
    for (const task of res.body.tasks as WorkTask[]) await run(task);
  }
}

console.log(JSON.stringify({ msg: 'http chaos worker started', workerId, queues, slots }));
void Promise.all(Array.from({ length: slots }, () => slot()));
