import { useState } from 'preact/hooks';
import { Ctx, errorText } from './context';

/** An action button: shown to admin credentials only; confirmed first when `confirm` says so. */
export function Act(props: {
  ctx: Ctx;
  label: string;
  confirm?: string;
  run: () => Promise<unknown>;
  done?: () => void;
}) {
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

export const Err = ({ error }: { error?: string }) => (error ? <p class="error">{error}</p> : null);
export const TaskLink = ({ id }: { id: string }) => <a href={`#/task/${encodeURIComponent(id)}`}>{id}</a>;
export const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '-');

/** A small bar chart of per-minute counts; the title says the total. */
export function Spark({ values, label, tone }: { values: number[]; label: string; tone: string }) {
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

/** Previous and Next over server-side pages: `cursors` are those of the pages before this one. */
export function Pager(props: { cursors: string[]; next: string | null | undefined; go: (cursors: string[]) => void }) {
  return (
    <p class="pager">
      <button disabled={!props.cursors.length} onClick={() => props.go(props.cursors.slice(0, -1))}>
        Previous
      </button>
      <button disabled={!props.next} onClick={() => props.go([...props.cursors, props.next!])}>
        Next
      </button>
    </p>
  );
}
