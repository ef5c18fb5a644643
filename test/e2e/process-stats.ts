import { readFileSync } from 'node:fs';

/** Resident memory of a process, MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round((kb / 1024) * 10) / 10;
}

/**
 * The longest event-loop stall of an app since the previous call, ms: prom-client's
 * nodejs_eventloop_lag_max_seconds (perf_hooks monitorEventLoopDelay, reset at every scrape).
 */
export async function maxEventLoopLagMs(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
  const seconds = Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]);
  return Math.round(seconds * 1000);
}

/** One measured worst case, as the suites print them (README "Bounded cost" quotes a run). */
export interface CostRow {
  request: string;
  status: number;
  responseBytes: number;
  rssMiB: number;
  lagMs: number;
}

export function costTable(rows: CostRow[]): string {
  const lines = rows.map(
    (r) => `| ${r.request} | ${r.status} | ${r.responseBytes.toLocaleString('en')} | ${r.rssMiB} | ${r.lagMs} |`,
  );
  return [
    '| request | status | response bytes | api RSS after (MiB) | max event-loop lag (ms) |',
    '|---|--:|--:|--:|--:|',
    ...lines,
  ].join('\n');
}
