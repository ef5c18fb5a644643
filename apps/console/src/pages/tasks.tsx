import { useEffect, useState } from 'preact/hooks';
import { TASK_STATUSES, TaskStatus, TaskSummary } from '@app/client';
import { Err, Pager, TaskLink, time } from '../components';
import { Ctx, PAGE_SIZE } from '../context';
import { usePoll } from '../hooks/use-poll';
import { go } from '../hooks/use-route';

/** The tasks in one state (and queue), a server-side page at a time; open a task by id. */
export function Tasks({ ctx, query }: { ctx: Ctx; query: URLSearchParams }) {
  const status = (query.get('status') ?? 'queued') as TaskStatus;
  const queue = query.get('queue') ?? '';
  // Server-side pages: the cursors of the pages before this one, so Previous works without loading everything.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  useEffect(() => setCursors([]), [status, queue]);
  const { data, error } = usePoll(
    () => ctx.client.listPage({ status, ...(queue && { queue }), limit: PAGE_SIZE, ...(cursor && { cursor }) }),
    [ctx, status, queue, cursor],
  );
  const [search, setSearch] = useState('');
  return (
    <section>
      <h2>Tasks</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (search.trim()) go(`/task/${encodeURIComponent(search.trim())}`);
        }}
      >
        <select name="status" value={status} onChange={(e) => go('/tasks', { status: e.currentTarget.value, queue })}>
          {TASK_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <input
          name="queue"
          placeholder="queue (all)"
          value={queue}
          onChange={(e) => go('/tasks', { status, queue: e.currentTarget.value })}
        />
        <input name="id" placeholder="task id" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <button type="submit">Open</button>
      </form>
      <Err error={error} />
      <table>
        <thead>
          <tr>
            <th>task</th>
            <th>type</th>
            <th>queue</th>
            <th>status</th>
            <th>priority</th>
            <th>attempts</th>
            <th>created</th>
            <th>finished</th>
          </tr>
        </thead>
        <tbody>
          {(data?.tasks ?? []).map((t: TaskSummary) => (
            <tr key={t.task_id} data-task={t.task_id}>
              <td>
                <TaskLink id={t.task_id} />
              </td>
              <td>{t.task_type}</td>
              <td>{t.queue}</td>
              <td class="status">{t.status}</td>
              <td class="num">{t.priority}</td>
              <td class="num">{t.attempts}</td>
              <td>{time(t.created_at)}</td>
              <td>{time(t.finished_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager cursors={cursors} next={data?.next_cursor} go={setCursors} />
    </section>
  );
}
