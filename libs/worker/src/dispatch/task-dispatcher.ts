import { Inject, Injectable } from '@nestjs/common';
import { TASK_INTERCEPTORS, TaskInterceptor } from '../interceptors/task-interceptor.interface';
import { InvalidPayloadError, UnknownTaskTypeError } from '../run/run-errors';
import { RunContext, RunOutcome } from '../run/task-context';
import { TaskThreadPool } from '../threads/task-thread-pool';
import { TaskHandlerExplorer } from './task-handler.explorer';

/**
 * Runs one claimed task through the interceptor chain to its handler. The innermost step finds the
 * handler, parses and checks the payload once, calls the handler (on the event loop, or in a worker
 * thread for a thread-isolated type) and returns its result.
 */
@Injectable()
export class TaskDispatcher {
  constructor(
    private readonly handlers: TaskHandlerExplorer,
    @Inject(TASK_INTERCEPTORS) private readonly interceptors: TaskInterceptor[],
    private readonly threads: TaskThreadPool,
  ) {}

  dispatch(run: RunContext): Promise<RunOutcome> {
    const chain = this.interceptors.reduceRight<() => Promise<RunOutcome>>(
      (next, interceptor) => () => interceptor.intercept(run, next),
      () => this.invoke(run),
    );
    return chain();
  }

  private async invoke(run: RunContext): Promise<RunOutcome> {
    const { task } = run;
    const handler = this.handlers.get(task.type);
    if (!handler) throw new UnknownTaskTypeError(task.type, this.handlers.types());
    let payload: unknown;
    try {
      payload = JSON.parse(task.payloadJson);
    } catch {
      throw new InvalidPayloadError('stored payload is not JSON');
    }
    const check = handler.contract.check(payload);
    if (!check.ok) throw new InvalidPayloadError(check.violations.map((v) => v.message).join('; '));
    const result =
      handler.isolation === 'thread'
        ? await this.threads.run(handler, check.value, run)
        : await handler.run(check.value, run.handler);
    return { kind: 'succeeded', result };
  }
}
