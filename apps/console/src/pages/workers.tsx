import { Worker } from '@app/client';
import { Err, time } from '../components';
import { Ctx } from '../context';
import { usePoll } from '../hooks/use-poll';

/** Live workers, from their heartbeats. */
export function Workers({ ctx }: { ctx: Ctx }) {
  const { data, error } = usePoll(() => ctx.client.workers(), [ctx]);
  return (
    <section>
      <h2>Workers</h2>
      <Err error={error} />
      <table>
        <thead>
          <tr>
            <th>worker</th>
            <th>kind</th>
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
              <td>{w.kind}</td>
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
