import { http } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(60_000);

/** MAX_RESULT_BYTES: a handler result over it dead-letters the task, saying why; nothing is stored cut short. */
describe('MAX_RESULT_BYTES', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack();
    await stack.startApi();
    // `echo` returns its payload: a payload of n bytes is a result of n bytes.
    await stack.startWorker({ MAX_RESULT_BYTES: '1000' });
  });
  afterAll(() => stack.stop());
  afterEach(async () => expect(await stack.invariant()).toEqual([]));

  it('dead-letters a run whose result is over it as result_too_large, at once and with no result stored', async () => {
    const big = 'x'.repeat(2000);
    const id = await stack.submitOk({ task_type: 'echo', payload: big, max_retries: 3 });
    const task = await stack.waitForStatus(id, ['dead', 'succeeded']);
    expect(task).toMatchObject({ status: 'dead', dead_reason: 'result_too_large', attempts: 1, result: null });
    expect(task.last_error).toMatch(/^result is 2002 bytes of JSON, over MAX_RESULT_BYTES \(1000\)/);
    const dlq = await http('GET', `${stack.api.url}/dlq?queue=default`);
    expect(dlq.body.tasks).toEqual([expect.objectContaining({ task_id: id, dead_reason: 'result_too_large' })]);
  });

  it('stores a result up to it whole, counting bytes, not characters', async () => {
    // 332 three-byte characters and the quotes: 998 bytes of JSON, 334 characters.
    const payload = '€'.repeat(332);
    const id = await stack.submitOk({ task_type: 'echo', payload });
    expect(await stack.waitForStatus(id, ['dead', 'succeeded'])).toMatchObject({
      status: 'succeeded',
      result: payload,
    });
    const over = await stack.submitOk({ task_type: 'echo', payload: '€'.repeat(334) });
    expect(await stack.waitForStatus(over, ['dead', 'succeeded'])).toMatchObject({
      status: 'dead',
      dead_reason: 'result_too_large',
    });
  });
});
