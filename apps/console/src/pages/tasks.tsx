import { useEffect, useState } from 'preact/hooks';
import { TASK_STATUSES, TaskStatus, TaskSummary } from '@app/client';
import { Err, Pager, TaskLink, time } from '../components';
import { Ctx, PAGE_SIZE } from '../context';
import { usePoll } from '../hooks/use-poll';
import { go } from '../hooks/use-route';

/**
 * The tasks in one state (and queue), a server-side page at a time, searched by the api (`q`: id
 * prefix, last error, dead reason; what it takes is the api's rule, and its 400 is shown); open a task by id.
 */
export function Tasks({ ctx, query }: { ctx: Ctx; query: URLSearchParams }) {
  const status = (query.get('status') ?? 'queued') as TaskStatus;
  const queue = query.get('queue') ?? '';
  const q = query.get('q') ?? '';
  // Server-side pages: the cursors of the pages before this one, so Previous works without loading everything.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  useEffect(() => setCursors([]), [status, queue, q]);
  const { data, error } = usePoll(
    () =>
      ctx.client.listPage({
        status,
        ...(queue && { queue }),
        ...(q && { q }),
        limit: PAGE_SIZE,
        ...(cursor && { cursor }),
      }),
    [ctx, status, queue, q, cursor],
  );
  const [search, setSearch] = useState('');
  const [terms, setTerms] = useState(q);
  useEffect(() => setTerms(q), [q]);
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
        <select
          name="status"
          value={status}
          onChange={(e) => go('/tasks', { status: e.currentTarget.value, queue, q })}
        >
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
          onChange={(e) => go('/tasks', { status, queue: e.currentTarget.value, q })}
        />
        <input name="id" placeholder="task id" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <button type="submit">Open</button>
      </form>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go('/tasks', { status, queue, q: terms.trim() });
        }}
      >
        <input
          name="q"
          type="search"
          placeholder="search: id prefix, error text, dead reason"
          value={terms}
          onInput={(e) => setTerms(e.currentTarget.value)}
        />
        <button type="submit">Search</button>
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
