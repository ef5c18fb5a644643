/** Where the CLI writes: process streams in main.ts, buffers in tests. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether `err` is a terminal: the batch submit's progress bar is drawn only there. */
  errIsTty: boolean;
}

export const processIo = (): CliIo => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTty: Boolean(process.stderr.isTTY),
});

type Cell = string | number | boolean | null | undefined;

function cell(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value);
}

/** A plain text table: a header row in capitals, columns padded to their widest cell, two spaces apart. */
export function table(columns: string[], rows: Cell[][]): string {
  const text = [columns.map((c) => c.toUpperCase()), ...rows.map((row) => row.map(cell))];
  const widths = columns.map((_, i) => Math.max(...text.map((row) => row[i].length)));
  return (
    text
      .map((row) => row.map((value, i) => (i === row.length - 1 ? value : value.padEnd(widths[i]))).join('  '))
      .join('\n') + '\n'
  );
}

/** `key  value` lines for one record (a task, a schedule), values that are objects as JSON. */
export function record(fields: [string, unknown][]): string {
  const width = Math.max(...fields.map(([key]) => key.length));
  return (
    fields
      .map(([key, value]) => {
        const shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : cell(value as Cell);
        return `${key.padEnd(width)}  ${shown}`;
      })
      .join('\n') + '\n'
  );
}

/** A progress bar on one terminal line, redrawn in place. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}
