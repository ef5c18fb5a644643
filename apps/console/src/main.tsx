import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  DeadTaskSummary,
  QueueMinute,
  QueueStats,
  Schedule,
  Task,
  TaskqClient,
  TaskqHttpError,
  TaskStatus,
  TaskSummary,
  Worker,
} from '@app/client';
import './style.css';

/** The key lives in this tab's session storage only: entered once, gone when the tab closes. */
const KEY_STORAGE = 'taskq.apiKey';
/** One request per page per this many ms (the page's own listing), never one per row. */
const POLL_MS = 2000;
/** The queues' hour of history (one request per queue) changes by the minute: read it this often. */
const HISTORY_POLL_MS = 30_000;
const PAGE_SIZE = 50;
const STATUSES: TaskStatus[] = ['scheduled', 'queued', 'active', 'retrying', 'succeeded', 'dead', 'cancelled'];
const UNFINISHED: TaskStatus[] = ['scheduled', 'queued', 'active', 'retrying'];

const clientFor = (apiKey: string) => new TaskqClient({ baseUrl: location.origin, apiKey, retries503: 0 });
const errorText = (error: unknown) =>
  error instanceof TaskqHttpError ? `${error.status}: ${error.body?.message ?? error.message}` : String(error);

interface Ctx {
  client: TaskqClient;
  /** Whether the credential may act (admin): read-only credentials see no action buttons. */
  admin: boolean;
}

/** `load` now and every POLL_MS while the page is shown; `reload` after an action. */
function usePoll<T>(load: () => Promise<T>, deps: unknown[], intervalMs = POLL_MS) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const value = await load();
        if (live) {
          setData(value);
          setError(undefined);
        }
      } catch (e) {
        if (live) setError(errorText(e));
      }
      if (live) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

function useRoute(): [string, URLSearchParams] {
  const read = () => {
    const [path, query] = location.hash.replace(/^#/, '').split('?');
    return [path || '/queues', new URLSearchParams(query ?? '')] as [string, URLSearchParams];
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

const go = (path: string, query: Record<string, string | undefined> = {}) => {
  const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v) as [string, string][]).toString();
  location.hash = `${path}${params ? `?${params}` : ''}`;
};

function Act(props: { ctx: Ctx; label: string; confirm?: string; run: () => Promise<unknown>; done?: () => void }) {
  const [busy, setBusy] = useState(false);
  if (!props.ctx.admin) return null;
  return (
    <button
      disabled={busy}
      onClick={async () => {
        if (props.confirm && !confirm(props.confirm)) return;
        setBusy(true);
        try {
          await props.run();
        } catch (e) {
          alert(errorText(e));
        }
        setBusy(false);
        props.done?.();
      }}
    >
      {props.label}
    </button>
  );
}

const Err = ({ error }: { error?: string }) => (error ? <p class="error">{error}</p> : null);
const TaskLink = ({ id }: { id: string }) => <a href={`#/task/${encodeURIComponent(id)}`}>{id}</a>;
const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '-');

/** A small bar chart of per-minute counts; the title says the total. */
function Spark({ values, label, tone }: { values: number[]; label: string; tone: string }) {
  const max = Math.max(1, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  return (
    <svg class="spark" width={values.length * 2} height="20" data-total={total}>
      <title>{`${total} ${label} in the last hour`}</title>
      {values.map((v, i) => (
        <rect key={i} x={i * 2} y={20 - (v / max) * 20} width="1.5" height={(v / max) * 20} fill={tone} />
      ))}
    </svg>
  );
}

function Queues({ ctx }: { ctx: Ctx }) {
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
  return (
    <section>
      <h2>Queues</h2>
      <Err error={error} />
      <table>
        <thead>
          <tr>
            <th>queue</th>
            <th>state</th>
            {STATUSES.map((s) => (
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
              {STATUSES.map((s) => (
                <td key={s} class="num">
                  {s === 'dead' && q.counts.dead > 0 ? (
                    <a href={`#/dlq?queue=${q.queue}`}>{q.counts.dead}</a>
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
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Tasks({ ctx, query }: { ctx: Ctx; query: URLSearchParams }) {
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
          {STATUSES.map((s) => (
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
      <p class="pager">
        <button disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <button disabled={!data?.next_cursor} onClick={() => setCursors([...cursors, data!.next_cursor!])}>
          Next
        </button>
      </p>
    </section>
  );
}

function TaskPage({ ctx, id }: { ctx: Ctx; id: string }) {
  const { data: task, error, reload } = usePoll(() => ctx.client.get(id), [ctx, id]);
  if (!task) return <Err error={error ?? 'loading'} />;
  const t: Task = task;
  const rows: [string, unknown][] = [
    ['task_id', t.task_id],
    ['type', t.task_type],
    ['queue', t.queue],
    ['status', t.status],
    ['priority', t.priority],
    ['attempts', `${t.attempts} of ${t.max_retries + 1}`],
    ['timeout', `${t.timeout_ms} ms`],
    ['created', time(t.created_at)],
    ['started', time(t.started_at)],
    ['finished', time(t.finished_at)],
    ['next run', time(t.next_run_at)],
    ['dead reason', t.dead_reason ?? '-'],
    ['schedule', t.schedule_id ? `${t.schedule_id} (tick ${time(t.scheduled_at)})` : '-'],
  ];
  return (
    <section>
      <h2>Task {t.task_id}</h2>
      <Err error={error} />
      <dl>
        {rows.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd data-field={k}>{String(v)}</dd>
          </>
        ))}
      </dl>
      {UNFINISHED.includes(t.status) && (
        <Act ctx={ctx} label="Cancel" run={() => ctx.client.cancel(t.task_id)} done={reload} />
      )}
      {t.status === 'dead' && (
        <Act ctx={ctx} label="Requeue" run={() => ctx.client.requeueDead(t.task_id)} done={reload} />
      )}
      <h3>Payload</h3>
      <pre>{JSON.stringify(t.payload, null, 2)}</pre>
      <h3>Result</h3>
      <pre>{JSON.stringify(t.result, null, 2) ?? '-'}</pre>
      {t.last_error && (
        <>
          <h3>Last error</h3>
          <pre class="error">{t.last_error}</pre>
        </>
      )}
      <h3>Attempts</h3>
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>started</th>
            <th>finished</th>
            <th>worker</th>
            <th>outcome</th>
            <th>error</th>
          </tr>
        </thead>
        <tbody>
          {t.attempts_history.map((a) => (
            <tr key={`${a.attempt}-${a.started_at}`}>
              <td class="num">{a.attempt}</td>
              <td>{time(a.started_at)}</td>
              <td>{time(a.finished_at)}</td>
              <td>{a.worker ?? '-'}</td>
              <td>{a.outcome ?? 'running'}</td>
              <td>
                <pre>{a.error ?? ''}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Dlq({ ctx, query }: { ctx: Ctx; query: URLSearchParams }) {
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
      <p class="pager">
        <button disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <button disabled={!data?.next_cursor} onClick={() => setCursors([...cursors, data!.next_cursor!])}>
          Next
        </button>
      </p>
    </section>
  );
}

function Schedules({ ctx }: { ctx: Ctx }) {
  const { data, error, reload } = usePoll(() => ctx.client.schedules(), [ctx]);
  return (
    <section>
      <h2>Schedules</h2>
      <Err error={error} />
      <table>
        <thead>
          <tr>
            <th>name</th>
            <th>when</th>
            <th>task</th>
            <th>enabled</th>
            <th>next runs</th>
            <th>last task</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(data ?? []).map((s: Schedule) => (
            <tr key={s.schedule_id} data-schedule={s.name}>
              <td>{s.name}</td>
              <td>{s.cron ? `${s.cron} (${s.tz ?? 'UTC'})` : `every ${s.every_ms} ms`}</td>
              <td>
                {s.task.task_type} → {s.task.queue}
              </td>
              <td class="enabled">{s.enabled ? 'yes' : 'no'}</td>
              <td>{s.next_runs.slice(0, 3).map(time).join(', ')}</td>
              <td>
                {s.last_task_id ? <TaskLink id={s.last_task_id} /> : '-'} {s.last_task_status ?? ''}
              </td>
              <td>
                <Act
                  ctx={ctx}
                  label={s.enabled ? 'Disable' : 'Enable'}
                  run={() => ctx.client.updateSchedule(s.schedule_id, { enabled: !s.enabled })}
                  done={reload}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Workers({ ctx }: { ctx: Ctx }) {
  const { data, error } = usePoll(() => ctx.client.workers(), [ctx]);
  return (
    <section>
      <h2>Workers</h2>
      <Err error={error} />
      <table>
        <thead>
          <tr>
            <th>worker</th>
            <th>queues</th>
            <th>concurrency</th>
            <th>in flight</th>
            <th>started</th>
            <th>last seen</th>
          </tr>
        </thead>
        <tbody>
          {(data ?? []).map((w: Worker) => (
            <tr key={w.worker_id}>
              <td>{w.worker_id}</td>
              <td>{w.queues.join(', ')}</td>
              <td class="num">{w.concurrency}</td>
              <td class="num">{w.in_flight}</td>
              <td>{time(w.started_at)}</td>
              <td>{time(w.last_seen)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function SignIn({ onKey, error }: { onKey: (key: string) => void; error?: string }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="signin"
      onSubmit={(e) => {
        e.preventDefault();
        onKey(key.trim());
      }}
    >
      <h2>Sign in</h2>
      <p>An API key (or JWT) with the read scope; admin shows the actions. Kept in this tab only.</p>
      <input
        name="apiKey"
        type="password"
        placeholder="tq_..."
        value={key}
        onInput={(e) => setKey(e.currentTarget.value)}
      />
      <button type="submit">Sign in</button>
      <Err error={error} />
    </form>
  );
}

function App() {
  const [key, setKey] = useState(sessionStorage.getItem(KEY_STORAGE) ?? '');
  const [ctx, setCtx] = useState<Ctx | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [path, query] = useRoute();

  useEffect(() => {
    let live = true;
    const client = clientFor(key);
    // One probe: the queues (read) must answer; key management answering too means admin.
    client
      .queues()
      .then(async () => {
        const admin = await client
          .keys()
          .next()
          .then(
            () => true,
            () => false,
          );
        if (!live) return;
        setCtx({ client, admin });
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setCtx(undefined);
        setError(key ? errorText(e) : undefined);
      });
    return () => {
      live = false;
    };
  }, [key]);

  const signIn = (value: string) => {
    sessionStorage.setItem(KEY_STORAGE, value);
    setKey(value);
  };
  const signOut = () => {
    sessionStorage.removeItem(KEY_STORAGE);
    setKey('');
    setCtx(undefined);
  };
  if (!ctx) return <SignIn onKey={signIn} error={error} />;

  const pages: [string, string][] = [
    ['/queues', 'Queues'],
    ['/tasks', 'Tasks'],
    ['/dlq', 'Dead letters'],
    ['/schedules', 'Schedules'],
    ['/workers', 'Workers'],
  ];
  let page;
  if (path.startsWith('/task/')) page = <TaskPage ctx={ctx} id={decodeURIComponent(path.slice('/task/'.length))} />;
  else if (path === '/tasks') page = <Tasks ctx={ctx} query={query} />;
  else if (path === '/dlq') page = <Dlq ctx={ctx} query={query} />;
  else if (path === '/schedules') page = <Schedules ctx={ctx} />;
  else if (path === '/workers') page = <Workers ctx={ctx} />;
  else page = <Queues ctx={ctx} />;
  return (
    <>
      <nav>
        <strong>taskq</strong>
        {pages.map(([href, label]) => (
          <a key={href} href={`#${href}`} class={path === href ? 'current' : ''}>
            {label}
          </a>
        ))}
        <span class="who">{ctx.admin ? 'admin' : 'read-only'}</span>
        <button onClick={signOut}>Sign out</button>
      </nav>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
