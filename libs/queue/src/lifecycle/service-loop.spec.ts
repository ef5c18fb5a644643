import { Logger } from '@nestjs/common';
import { ServiceLoop, ServiceLoopOptions } from './service-loop';

/** Polls `check` until it holds (or fails the test after `ms`). */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const quietLogger = () => {
  const warnings: string[] = [];
  const logger = { warn: (entry: { msg: string }) => warnings.push(entry.msg) } as unknown as Logger;
  return { logger, warnings };
};

describe('ServiceLoop', () => {
  let loop: ServiceLoop | undefined;
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
  });

  const make = (pass: () => Promise<number | void>, options: ServiceLoopOptions = {}) => {
    const { logger, warnings } = quietLogger();
    loop = new ServiceLoop('test loop', pass, logger, options);
    return { loop, warnings };
  };

  it('runs passes one after another, never two at once, and sleeps what a pass returns', async () => {
    let running = 0;
    let most = 0;
    const starts: number[] = [];
    const { loop } = make(async () => {
      starts.push(Date.now());
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      return 30;
    });
    loop.start();
    await until(() => starts.length >= 4, 'four passes');
    expect(most).toBe(1);
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(30);
  });

  it('wakes from a long sleep at once, and a wake during a pass skips the sleep after it', async () => {
    let passes = 0;
    let wakeDuringPass = false;
    const { loop } = make(async () => {
      passes++;
      if (wakeDuringPass) {
        wakeDuringPass = false;
        loop.wake();
      }
      return 3_600_000;
    });
    loop.start();
    await until(() => passes === 1, 'the first pass');
    loop.wake();
    await until(() => passes === 2, 'the pass a wake starts');
    wakeDuringPass = true;
    loop.wake();
    // Pass 3 wakes itself: pass 4 follows without the hour's sleep.
    await until(() => passes === 4, 'the pass after a wake that came during a pass');
  });

  it('backs off after failures, warns once per streak, and starts over after a pass that succeeds', async () => {
    let calls = 0;
    const outcomes = ['fail', 'fail', 'fail', 'ok', 'fail', 'ok'];
    const { loop, warnings } = make(
      async () => {
        const outcome = outcomes[calls++] ?? 'ok';
        if (outcome === 'fail') throw new Error(`no Redis (${calls})`);
        return calls >= outcomes.length ? 3_600_000 : 0;
      },
      { backoff: { baseMs: 1, maxMs: 4 } },
    );
    loop.start();
    await until(() => calls >= outcomes.length, 'every scripted pass');
    expect(warnings).toEqual(['test loop: no Redis (1); retrying', 'test loop: no Redis (5); retrying']);
  });

  it('hands every failure to onFailure with the failures in a row, and waits what it returns', async () => {
    const seen: number[] = [];
    let calls = 0;
    const { loop, warnings } = make(
      async () => {
        calls++;
        if (calls <= 3) throw new Error('down');
        return 3_600_000;
      },
      { onFailure: (_error, failures) => (seen.push(failures), 1) },
    );
    loop.start();
    await until(() => calls === 4, 'the pass after three failures');
    expect(seen).toEqual([1, 2, 3]);
    expect(warnings).toEqual([]);
  });

  it('waits firstDelayMs before the first pass, and intervalMs after a pass that names no wait', async () => {
    const starts: number[] = [];
    const began = Date.now();
    const { loop } = make(
      async () => {
        starts.push(Date.now());
      },
      { firstDelayMs: 40, intervalMs: 25 },
    );
    loop.start();
    await until(() => starts.length >= 3, 'three passes');
    // Date.now() is in whole ms and a timer may fire within the ms it is due: one ms of slack.
    expect(starts[0] - began).toBeGreaterThanOrEqual(39);
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(24);
  });

  it('stop() waits for the pass in progress, and no pass starts after it', async () => {
    let release!: () => void;
    let passes = 0;
    let finished = false;
    const { loop } = make(async () => {
      passes++;
      await new Promise<void>((resolve) => (release = resolve));
      finished = true;
      return 0;
    });
    loop.start();
    await until(() => passes === 1, 'the first pass');
    const stopped = loop.stop();
    expect(loop.stopping).toBe(true);
    let stopDone = false;
    void stopped.then(() => (stopDone = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopDone).toBe(false);
    release();
    await stopped;
    expect(finished).toBe(true);
    expect(passes).toBe(1);
  });

  it('a pass that fails while stopping ends the loop without a warning', async () => {
    let fail!: () => void;
    const { loop, warnings } = make(
      () => new Promise<number>((_resolve, reject) => (fail = () => reject(new Error('x')))),
    );
    loop.start();
    await until(() => fail !== undefined, 'the first pass');
    const stopped = loop.stop();
    fail();
    await stopped;
    expect(warnings).toEqual([]);
  });
});
