import { useCallback, useEffect, useState } from 'preact/hooks';
import { DeadTaskSummary } from '@app/client';
import { Act, Err, Pager, TaskLink, time } from '../components';
import { Ctx, PAGE_SIZE } from '../context';
import { usePoll } from '../hooks/use-poll';
import { go } from '../hooks/use-route';

/** The dead-letter queue (of one queue), newest death first; requeue, delete, purge a queue. */
export function Dlq({ ctx, query }: { ctx: Ctx; query: URLSearchParams }) {
  const queue = query.get('queue') ?? '';
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  useEffect(() => setCursors([]), [queue]);
  const { data, error, reload } = usePoll(
    () => ctx.client.deadPage({ ...(queue && { queue }), limit: PAGE_SIZE, ...(cursor && { cursor }) }),
    [ctx, queue, cursor],
  );
  const purge = useCallback(async () => {
    const count = (await ctx.client.queue(queue)).counts.dead;
    if (!confirm(`Delete all ${count} dead tasks of ${queue}? This cannot be undone.`)) return;
    alert(`Deleted ${await ctx.client.purgeDead(queue)} dead tasks`);
  }, [ctx, queue]);
  return (
    <section>
      <h2>Dead-letter queue</h2>
      <p class="filters">
        <input
          name="queue"
          placeholder="queue (all)"
          value={queue}
          onChange={(e) => go('/dlq', { queue: e.currentTarget.value })}
        />
        {queue && <Act ctx={ctx} label={`Purge ${queue}`} run={purge} done={reload} />}
      </p>
      <Err error={error} />
      <table>
        <thead>
          <tr>
            <th>task</th>
            <th>type</th>
            <th>queue</th>
            <th>reason</th>
            <th>attempts</th>
            <th>died</th>
            <th>last error</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(data?.tasks ?? []).map((t: DeadTaskSummary) => (
            <tr key={t.task_id} data-task={t.task_id}>
              <td>
                <TaskLink id={t.task_id} />
              </td>
              <td>{t.task_type}</td>
              <td>{t.queue}</td>
              <td>{t.dead_reason}</td>
              <td class="num">{t.attempts}</td>
              <td>{time(t.finished_at)}</td>
              <td class="clip">{t.last_error?.split('\n')[0]}</td>
              <td>
                <Act ctx={ctx} label="Requeue" run={() => ctx.client.requeueDead(t.task_id)} done={reload} />
                <Act
                  ctx={ctx}
                  label="Delete"
                  confirm={`Delete ${t.task_id}?`}
                  run={() => ctx.client.deleteDead(t.task_id)}
                  done={reload}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager cursors={cursors} next={data?.next_cursor} go={setCursors} />
    </section>
  );
}
