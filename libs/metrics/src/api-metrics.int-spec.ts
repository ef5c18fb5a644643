import { Test, TestingModule } from '@nestjs/testing';
import { register } from 'prom-client';
import { createTestRedis, deleteByPrefix, testQueueOptions, TestRedis, uniquePrefix, waitFor } from '@app/testing';
import { QueueAdmin, QueueModule, QueueProducer, queueKeys, QueueRegistry } from '@app/queue';
import { METRIC, MetricsModule } from '@app/metrics';

/** The apps' metrics on a real Redis, as a scrape sees them. */
describe('metrics', () => {
  let moduleRef: TestingModule;
  let redis: TestRedis;
  let prefix: string;

  beforeAll(async () => {
    redis = createTestRedis();
    prefix = uniquePrefix('metrics');
    moduleRef = await Test.createTestingModule({
      imports: [QueueModule.forRoot(testQueueOptions(prefix)), MetricsModule.forApi(), MetricsModule.forWorker()],
    }).compile();
    await moduleRef.init();
  });
  afterAll(async () => {
    await moduleRef.close();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
    register.clear();
  });

  const sample = (text: string) =>
    new RegExp(`^${METRIC.deadLetterTrimmed}\\{queue="trim"\\} (\\d+)$`, 'm').exec(text)?.[1];

  /** Scrapes until the sample reads `value` (the queue stats behind it are cached for 500 ms). */
  const scrapedAs = (value: string) =>
    waitFor(async () => sample(await register.metrics()) === value, { what: `${METRIC.deadLetterTrimmed} ${value}` });

  it('names every metric as promtool expects: counters end in _total, nothing else does', async () => {
    const metrics = await register.getMetricsAsJSON();
    expect(metrics.length).toBeGreaterThan(0);
    const misnamed = metrics
      .filter((m) => (String(m.type) === 'counter') !== m.name.endsWith('_total'))
      .map((m) => `${m.name} (${m.type})`);
    expect(misnamed).toEqual([]);
  });

  it('reports dead_letter_trimmed_total as a counter mirroring the count kept in Redis', async () => {
    await moduleRef
      .get(QueueProducer)
      .enqueue({ type: 'echo', queue: 'trim', payload: 1, priority: 0, maxRetries: 0, timeoutMs: 1000 });
    const trimmedKey = queueKeys(prefix, 'trim').deadTrimmed;

    expect(await register.metrics()).toContain(`# TYPE ${METRIC.deadLetterTrimmed} counter`);
    await scrapedAs('0');
    await redis.incrby(trimmedKey, 7);
    await scrapedAs('7');
    await redis.incrby(trimmedKey, 3);
    await scrapedAs('10');
    // The Redis count lost (key gone): the series restarts from it, which Prometheus reads as a reset.
    await redis.set(trimmedKey, 2);
    await scrapedAs('2');
  });

  it("drops a forgotten queue's series: depth, paused, unserved, oldest age and trimmed count", async () => {
    const admin = moduleRef.get(QueueAdmin);
    // Controls apply to a queue that exists: a worker serving it, or a submit, would have listed it.
    await moduleRef.get(QueueRegistry).register(['gone']);
    await admin.pause('gone');
    const series = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.includes('queue="gone"'))
        .map((line) => line.split('{')[0]);
    const expected = [
      METRIC.queuePaused,
      METRIC.queueDepth,
      METRIC.queueOldestAge,
      METRIC.queueUnserved,
      METRIC.deadLetterTrimmed,
    ];
    await waitFor(
      async () => {
        const present = series(await register.metrics());
        return expected.every((name) => present.includes(name));
      },
      { what: 'the series of queue "gone"' },
    );
    expect(await register.metrics()).toContain(`${METRIC.queuePaused}{queue="gone"} 1`);

    await admin.forget('gone');
    await waitFor(async () => series(await register.metrics()).length === 0, {
      what: 'every series of the forgotten queue "gone" to go',
    });
    // Other queues keep theirs.
    expect(await register.metrics()).toContain(`${METRIC.queuePaused}{queue="trim"} 0`);
  }, 20_000);
});
