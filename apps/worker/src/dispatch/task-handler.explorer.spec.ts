import { TaskContractRegistry, echoContract, emailContract } from '@app/contracts';
import { checkHandlers } from './task-handler.explorer';

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
