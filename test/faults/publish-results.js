#!/usr/bin/env node
/**
 * Copies the result tables of the latest full runs into the README: the fault table (Reliability)
 * and the failover table (Redis topologies).
 *
 *   npm run build && npm run test:faults     # a run where every fault passes writes results/latest.{md,json}
 *   npm run build && npm run test:failover   # a run where every failover passes writes results/failover.{md,json}
 *   node test/faults/publish-results.js      # replaces the README blocks between their markers
 *   node test/faults/publish-results.js --check   # exit 1 if a README block is not its results file's
 *
 * Each block is copied byte for byte: the suites already format them as prettier formats the README.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const README = join(__dirname, '..', '..', 'README.md');
const BLOCKS = [
  { file: join(__dirname, 'results', 'latest.md'), begin: '<!-- fault-table:begin', end: '<!-- fault-table:end -->' },
  {
    file: join(__dirname, 'results', 'failover.md'),
    begin: '<!-- failover-table:begin',
    end: '<!-- failover-table:end -->',
  },
];

/** The block from its begin marker's line through its end marker. */
function block(text, file, { begin, end }) {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end, start);
  if (start < 0 || stop < 0) throw new Error(`${file}: no ${begin} … ${end} block`);
  return { start, end: stop + end.length, text: text.slice(start, stop + end.length) };
}

let readme = readFileSync(README, 'utf8');
let stale = 0;
for (const marks of BLOCKS) {
  const latest = block(readFileSync(marks.file, 'utf8'), marks.file, marks);
  const current = block(readme, README, marks);
  if (process.argv.includes('--check')) {
    if (current.text !== latest.text) {
      console.error(`README.md: the block ${marks.begin} is not the one in ${marks.file}`);
      stale++;
    } else {
      console.log(`README.md: the block ${marks.begin} is the one in ${marks.file}`);
    }
  } else {
    readme = readme.slice(0, current.start) + latest.text + readme.slice(current.end);
    console.log(`README.md: ${marks.begin} block copied from ${marks.file}`);
  }
}
if (process.argv.includes('--check')) process.exit(stale ? 1 : 0);
writeFileSync(README, readme);
