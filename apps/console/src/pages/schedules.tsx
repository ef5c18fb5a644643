import { Schedule } from '@app/client';
import { Act, Err, TaskLink, time } from '../components';
import { Ctx } from '../context';
import { usePoll } from '../hooks/use-poll';

/** Every schedule: when, what it submits, its next runs and last task; enable and disable. */
export function Schedules({ ctx }: { ctx: Ctx }) {
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
