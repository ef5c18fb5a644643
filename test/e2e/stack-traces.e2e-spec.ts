import { Stack } from './harness';

jest.setTimeout(60_000);

/**
 * The built apps run with their source maps (`node --enable-source-maps`, webpack.config.js): the stack a
 * failing handler leaves in GET /tasks/{id} (and the console, and the logs) names the TypeScript file and
 * line, not a line of the bundle.
 */
describe('stack traces name the TypeScript source', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack();
    await stack.startApi();
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("records a failing handler's stack as fail.handler.ts:<line>, not dist/apps/worker/main.js", async () => {
    const id = await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0 });
    const task = await stack.waitForStatus(id, ['dead']);
    expect(task.last_error).toBe('Error: planned failure 1 of always');
    const [attempt] = task.attempts_history;
    expect(attempt.error).toMatch(/^Error: planned failure 1 of always\n/);
    // The throw is the first frame, in the handler's own source file.
    const firstFrame = attempt.error.split('\n')[1];
    expect(firstFrame).toMatch(/apps\/worker\/src\/handlers\/demo\/fail\.handler\.ts:\d+:\d+\)?$/);
    expect(attempt.error).not.toMatch(/main\.js:\d+/);
  });
});
