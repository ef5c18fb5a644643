import { randomUUID } from 'node:crypto';
import { faultRunKeys } from '@app/contracts';
import { deleteByPrefix, testRedisConnection } from '@app/testing';
import { FaultStack } from './harness';

/**
 * The fault suite's accounting on a real Redis, with hand-written task hashes and run records: each
 * way a fault can lose or double-run a task must show up in the lists the suite requires empty.
 */
describe('FaultStack.account', () => {
  let stack: FaultStack;

  beforeEach(() => {
    stack = new FaultStack(testRedisConnection());
  });
  afterEach(async () => {
    await deleteByPrefix(stack.redis, stack.prefix);
    await stack.stop();
  });

  /** A task hash as the scripts leave it (only the fields the accounting reads), and its run records. */
  async function task(fields: Record<string, string | number>, runs = 0): Promise<string> {
    const id = `default.${randomUUID()}`;
    await stack.redis.hset(stack.taskKey(id), { type: 'chaos', ...fields });
    if (runs) await stack.redis.hincrby(faultRunKeys(stack.prefix).runs, id, runs);
    return id;
  }
  const accepted = (id: string, expect: 'succeeded' | 'dead' = 'succeeded') => stack.submitted.set(id, { id, expect });

  it('allows a repeat per recovery or release, and reports one without either as a double run', async () => {
    const recovered = await task({ status: 'succeeded', attempts: 1, recoveries: 1 }, 2);
    const released = await task({ status: 'succeeded', attempts: 1, releases: 1 }, 2);
    const both = await task({ status: 'succeeded', attempts: 1, recoveries: 1, releases: 1 }, 3);
    const doubled = await task({ status: 'succeeded', attempts: 1 }, 2);
    const tooMany = await task({ status: 'succeeded', attempts: 1, recoveries: 1 }, 3);
    const retried = await task({ status: 'succeeded', attempts: 2 }, 2);
    [recovered, released, both, doubled, tooMany, retried].forEach((id) => accepted(id));

    const acc = await stack.account();
    expect(acc.duplicateRuns).toBe(1 + 1 + 2 + 1 + 2);
    expect(acc.unexplainedDuplicates.sort()).toEqual(
      [
        `${doubled}: 2 runs, 1 attempts, 0 recoveries, 0 releases`,
        `${tooMany}: 3 runs, 1 attempts, 1 recoveries, 0 releases`,
      ].sort(),
    );
    expect([acc.recoveries, acc.releases]).toEqual([3, 2]);
    expect(acc.lost).toEqual([]);
  });

  it('reports an accepted task that is missing, unfinished, or ended other than designed', async () => {
    const missing = `default.${randomUUID()}`;
    const queued = await task({ status: 'queued', attempts: 0 });
    const deadNotDesigned = await task({ status: 'dead', attempts: 1 }, 1);
    const fine = await task({ status: 'dead', attempts: 1 }, 1);
    [missing, queued, deadNotDesigned].forEach((id) => accepted(id));
    accepted(fine, 'dead');

    const acc = await stack.account();
    expect(acc.lost.sort()).toEqual(
      [
        `${missing}: missing (designed to end succeeded)`,
        `${queued}: queued (designed to end succeeded)`,
        `${deadNotDesigned}: dead (designed to end succeeded)`,
      ].sort(),
    );
    expect([acc.accepted, acc.succeeded, acc.dead]).toEqual([4, 0, 2]);
  });

  it('counts tasks written without a 202 and reports those not finished', async () => {
    const finished = await task({ status: 'succeeded', attempts: 1 }, 1);
    const stuck = await task({ status: 'active', attempts: 1, lease: 'x' }, 1);
    const acc = await stack.account();
    expect(acc.accepted).toBe(0);
    expect(acc.unconfirmed.sort()).toEqual([finished, stuck].sort());
    expect(acc.unconfirmedUnfinished).toEqual([`${stuck}: active (designed to end succeeded)`]);
  });

  it('reports run records of a task that has no hash, and a succeeded chaos task with no run record', async () => {
    const vanished = `default.${randomUUID()}`;
    await stack.redis.hincrby(faultRunKeys(stack.prefix).runs, vanished, 1);
    const unrecorded = await task({ status: 'succeeded', attempts: 1 });
    accepted(unrecorded);
    const acc = await stack.account();
    expect(acc.vanished).toEqual([vanished]);
    expect(acc.unrecorded).toEqual([unrecorded]);
  });
});
