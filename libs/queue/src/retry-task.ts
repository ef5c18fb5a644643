import { errorForScriptCode, redisCall, retryError, SCRIPT_CODE } from './errors/queue-error';
import { queueKeys, queueOfTaskId } from './keys/queue-keys';
import { finishedMode, QueueModuleOptions } from './queue.options';
import { QueueRedis } from './scripts/script-loader';
import { retryTask } from './scripts/task-scripts';

/**
 * The one call of retryTask: the dead-letter requeue (`only` 'dead': a dead task in the dead-letter queue) and
 * the retry of any finished task ('finished'). Throws the operation's NotFound, WrongState or Conflict.
 */
export async function runAgain(
  redis: QueueRedis,
  options: QueueModuleOptions,
  op: 'retry' | 'requeueDead',
  id: string,
  only: 'dead' | 'finished',
): Promise<void> {
  const queue = queueOfTaskId(id);
  if (queue === undefined) throw errorForScriptCode(SCRIPT_CODE.NotFound, op, id)!;
  const keys = queueKeys(options.prefix, queue);
  const {
    code,
    details: [status, detail],
  } = await redisCall(op, () =>
    retryTask.run(redis, keys, { taskPrefix: keys.taskPrefix, id, finishedMode: finishedMode(options), only }),
  );
  const error = retryError(op, id, [code, status, detail]);
  if (error) throw error;
}
