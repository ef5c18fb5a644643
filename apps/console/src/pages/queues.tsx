import { useCallback } from 'preact/hooks';
import { PURGEABLE_STATUSES, PurgeableStatus, QueueMinute, QueueStats, TASK_STATUSES } from '@app/client';
import { Act, Err, Spark } from '../components';
import { Ctx, HISTORY_POLL_MS } from '../context';
import { usePoll } from '../hooks/use-poll';

/** Every queue: counts by state, oldest queued, the hour's charts, limits; pause, resume, purge a waiting state. */
export function Queues({ ctx }: { ctx: Ctx }) {
  const { data, error, reload } = usePoll(() => ctx.client.queues(), [ctx]);
  const names = (data ?? []).map((q) => q.queue).join(',');
  const { data: history } = usePoll(
    async () => {
      const entries = await Promise.all(
        names
          .split(',')
          .filter(Boolean)
          .map(async (name) => [name, await ctx.client.history(name)] as [string, QueueMinute[]]),
      );
      return new Map(entries);
    },
    [ctx, names],
    HISTORY_POLL_MS,
  );
  // Asks with the count as it is now (the page's may be 2 s old): a purge keeps no record to undo it from.
  const purge = useCallback(
    async (queue: string, status: PurgeableStatus) => {
      const count = (await ctx.client.queue(queue)).counts[status];
      if (!confirm(`Delete the ${count} ${status} tasks of ${queue} for good? They leave no record.`)) return;
      alert(`Purged ${await ctx.client.purgeTasks(queue, status)} ${status} tasks of ${queue}`);
    },
    [ctx],
  );
  return (
    <section>
      <h2>Queues</h2>
      <Err error={error} />
      <table>
        <thead>
          <tr>
            <th>queue</th>
            <th>state</th>
            {TASK_STATUSES.map((s) => (
              <th key={s}>{s}</th>
            ))}
            <th>oldest queued</th>
            <th>done / min (1 h)</th>
            <th>failed / min (1 h)</th>
            <th>limits</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(data ?? []).map((q: QueueStats) => (
            <tr key={q.queue} data-queue={q.queue}>
              <td>
                <a href={`#/tasks?queue=${q.queue}&status=queued`}>{q.queue}</a>
              </td>
              <td class="state">{q.paused ? 'paused' : q.unserved ? 'unserved' : 'running'}</td>
              {TASK_STATUSES.map((s) => (
                <td key={s} class="num">
                  {s === 'dead' && q.counts.dead > 0 ? (
                    <a href={`#/dlq?queue=${q.queue}`}>{q.counts.dead}</a>
                  ) : q.counts[s] === null ? (
                    <span title="kept in the task history (PostgreSQL), which is unreachable now">-</span>
                  ) : (
                    q.counts[s]
                  )}
                </td>
              ))}
              <td class="num">
                {q.oldest_queued_age_ms === null ? '-' : `${Math.round(q.oldest_queued_age_ms / 1000)} s`}
              </td>
              <td class="throughput">
                <Spark
                  values={(history?.get(q.queue) ?? []).map((m) => m.succeeded)}
                  label="succeeded"
                  tone="#2e7d32"
                />
              </td>
              <td class="failures">
                <Spark
                  values={(history?.get(q.queue) ?? []).map((m) => m.dead + m.retried)}
                  label="failed runs (retried or dead)"
                  tone="#b42318"
                />
              </td>
              <td>
                {[
                  q.limits.rate ? `${q.limits.rate.max} per ${q.limits.rate.per_ms} ms` : '',
                  q.limits.concurrency !== null ? `concurrency ${q.limits.concurrency}` : '',
                ]
                  .filter(Boolean)
                  .join(', ') || '-'}
              </td>
              <td>
                {q.paused ? (
                  <Act ctx={ctx} label="Resume" run={() => ctx.client.resume(q.queue)} done={reload} />
                ) : (
                  <Act ctx={ctx} label="Pause" run={() => ctx.client.pause(q.queue)} done={reload} />
                )}
                {PURGEABLE_STATUSES.filter((s) => q.counts[s]! > 0).map((s) => (
                  <Act key={s} ctx={ctx} label={`Purge ${s}`} run={() => purge(q.queue, s)} done={reload} />
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
