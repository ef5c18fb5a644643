import { isFinished, Task } from '@app/client';
import { Act, Err, time } from '../components';
import { Ctx } from '../context';
import { usePoll } from '../hooks/use-poll';

/** One task: status, timings, payload, result, last error, every attempt; cancel, requeue or retry. */
export function TaskPage({ ctx, id }: { ctx: Ctx; id: string }) {
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
      {!isFinished(t) && <Act ctx={ctx} label="Cancel" run={() => ctx.client.cancel(t.task_id)} done={reload} />}
      {t.status === 'dead' && (
        <Act ctx={ctx} label="Requeue" run={() => ctx.client.requeueDead(t.task_id)} done={reload} />
      )}
      {isFinished(t) && (
        <Act
          ctx={ctx}
          label="Retry"
          confirm={`Run ${t.task_id} again (attempts reset, its history kept)?`}
          run={() => ctx.client.retry(t.task_id)}
          done={reload}
        />
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
