import { Command } from 'commander';
import { isFinished, Task } from '@app/client';
import { CliDeps, EXIT } from '../command';
import { record } from '../output';

/** One task as `key  value` lines (or JSON). */
export function showTask(deps: CliDeps, command: Command, task: Task): void {
  deps.print(command, task, () =>
    record([
      ['task_id', task.task_id],
      ['task_type', task.task_type],
      ['queue', task.queue],
      ['status', task.status],
      ['priority', task.priority],
      ['attempts', `${task.attempts} (max retries ${task.max_retries})`],
      ['created_at', task.created_at],
      ['started_at', task.started_at],
      ['finished_at', task.finished_at],
      ['dead_reason', task.dead_reason],
      ['last_error', task.last_error],
      ['schedule_id', task.schedule_id],
      ['payload', task.payload],
      ['result', task.result],
    ]),
  );
}

/** --wait: the task once finished; exit 1 unless it succeeded. */
export async function waitAndShow(deps: CliDeps, command: Command, id: string, timeoutMs: number): Promise<void> {
  const task = await deps.client(command).wait(id, { timeoutMs });
  showTask(deps, command, task);
  if (task.status === 'succeeded') return;
  deps.setExitCode(EXIT.failed);
  deps.io.err(
    isFinished(task)
      ? `taskq: task ${id} is ${task.status}\n`
      : `taskq: task ${id} is still ${task.status} after ${timeoutMs} ms\n`,
  );
}
