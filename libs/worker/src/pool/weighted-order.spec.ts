import { parseWorkerQueues } from '../config/worker.options';
import { weightedOrder } from './weighted-order';

describe('weightedOrder', () => {
  const queues = parseWorkerQueues('critical:6,default:3,low:1');

  it('puts each queue first in proportion to its weight', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const first: Record<string, number> = { critical: 0, default: 0, low: 0 };
    for (let i = 0; i < 10_000; i++) first[weightedOrder(queues, random)[0]]++;
    expect(first.critical / 10_000).toBeCloseTo(0.6, 1);
    expect(first.default / 10_000).toBeCloseTo(0.3, 1);
    expect(first.low / 10_000).toBeCloseTo(0.1, 1);
  });

  it('always lists every queue once', () => {
    expect(weightedOrder(queues).sort()).toEqual(['critical', 'default', 'low']);
  });
});

describe('parseWorkerQueues', () => {
  it('defaults weights to 1 and rejects duplicates', () => {
    expect(parseWorkerQueues('default')).toEqual([{ name: 'default', weight: 1 }]);
    expect(() => parseWorkerQueues('a,a:2')).toThrow(/twice/);
  });
});
