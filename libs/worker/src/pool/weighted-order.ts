import type { WeightedQueue } from '../config/worker.options';

/**
 * The queues in a random order where each queue comes first with probability weight / total
 * (weighted sampling without replacement): over many claims, `critical:6,default:3,low:1` serves
 * critical first 60% of the time, yet no queue starves.
 */
export function weightedOrder(queues: WeightedQueue[], random: () => number = Math.random): string[] {
  if (queues.length === 1) return [queues[0].name];
  const left = [...queues];
  const order: string[] = [];
  while (left.length) {
    let pick = random() * left.reduce((sum, q) => sum + q.weight, 0);
    let index = 0;
    while (index < left.length - 1 && pick >= left[index].weight) pick -= left[index++].weight;
    order.push(left.splice(index, 1)[0].name);
  }
  return order;
}
