import { TaskContractRegistry, echoContract, emailContract } from '@app/contracts';
import { checkHandlers, checkThreadPool } from './task-handler.explorer';

describe('checkHandlers (the worker refuses to boot on a mismatch)', () => {
  const contracts = new TaskContractRegistry([emailContract, echoContract]);

  it('accepts exactly one handler per contract', () => {
    expect(
      checkHandlers(contracts, [
        { type: 'email', name: 'EmailHandler.send' },
        { type: 'echo', name: 'EchoHandler.echo' },
      ]),
    ).toEqual([]);
  });

  it('names a contract without a handler, a type with two handlers, and a handler without a contract', () => {
    expect(
      checkHandlers(contracts, [
        { type: 'email', name: 'A.send' },
        { type: 'email', name: 'B.send' },
        { type: 'resize', name: 'ResizeHandler.run' },
      ]),
    ).toEqual([
      'task type "email" has 2 handlers: A.send, B.send',
      'task type "echo" has a contract but no @TaskHandler',
      'ResizeHandler.run handles "resize", which has no contract in libs/contracts (add it there)',
    ]);
  });
});

describe('checkThreadPool (a thread-isolated type needs a thread)', () => {
  it('refuses WORKER_THREADS=0 when a type runs in threads, naming the types and the variable', () => {
    const handlers = [
      { type: 'echo', isolation: 'event-loop' },
      { type: 'cpu', isolation: 'thread' },
    ];
    expect(checkThreadPool(handlers, 0)).toEqual([
      `task type "cpu" runs in worker threads (isolation: 'thread') but WORKER_THREADS=0: set WORKER_THREADS to 1 or more (0 suits only a worker whose task types all run on the event loop)`,
    ]);
    expect(checkThreadPool(handlers, 1)).toEqual([]);
    expect(checkThreadPool([{ type: 'echo', isolation: 'event-loop' }], 0)).toEqual([]);
  });
});
