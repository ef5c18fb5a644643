import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The README's benchmark figures say which Node they were measured on: every table of the Performance section
 * follows a line that names the Node version (the bench writes it into each table's first line).
 */
function tablesAndCaptions(section: string): { caption: string; header: string }[] {
  const lines = section.split('\n');
  const found: { caption: string; header: string }[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('|') || lines[i - 1]?.startsWith('|')) return;
    let j = i - 1;
    while (j >= 0 && lines[j].trim() === '') j--;
    found.push({ caption: lines[j] ?? '', header: line });
  });
  return found;
}

describe('README Performance: each table names the Node it ran on', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const performance = readme.split(/^## Performance$/m)[1].split(/^## /m)[0];

  it('finds the tables, and tells a caption without a Node version (the check can fail)', () => {
    expect(tablesAndCaptions(performance).length).toBeGreaterThanOrEqual(4);
    const sample = 'A run, 2× AMD EPYC, 24 GiB, `npm run bench`.\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n';
    expect(tablesAndCaptions(sample).filter((t) => !/\bNode v\d+\.\d+\.\d+\b/.test(t.caption))).toHaveLength(1);
  });

  it('every table follows a line naming Node vX.Y.Z', () => {
    const unnamed = tablesAndCaptions(performance).filter((t) => !/\bNode v\d+\.\d+\.\d+\b/.test(t.caption));
    expect(unnamed.map((t) => t.header.slice(0, 60))).toEqual([]);
  });
});
