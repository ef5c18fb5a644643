#!/usr/bin/env node
/**
 * Copies the fault table of the latest full run into the README's Reliability section.
 *
 *   npm run build && npm run test:faults     # a run where every fault passes writes results/latest.{md,json}
 *   node test/faults/publish-results.js      # replaces the README block between the fault-table markers
 *   node test/faults/publish-results.js --check   # exit 1 if the README's block is not latest.md's
 *
 * The block is copied byte for byte: the suite already formats it as prettier formats the README.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const README = join(__dirname, '..', '..', 'README.md');
const LATEST = join(__dirname, 'results', 'latest.md');
const BEGIN = '<!-- fault-table:begin';
const END = '<!-- fault-table:end -->';

/** The block from its begin marker's line through its end marker. */
function block(text, file) {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END, start);
  if (start < 0 || end < 0) throw new Error(`${file}: no ${BEGIN} … ${END} block`);
  return { start, end: end + END.length, text: text.slice(start, end + END.length) };
}

const latest = block(readFileSync(LATEST, 'utf8'), LATEST);
const readme = readFileSync(README, 'utf8');
const current = block(readme, README);

if (process.argv.includes('--check')) {
  if (current.text !== latest.text) {
    console.error('README.md: the fault table is not the one in test/faults/results/latest.md');
    process.exit(1);
  }
  console.log('README.md: the fault table is the one in test/faults/results/latest.md');
} else {
  writeFileSync(README, readme.slice(0, current.start) + latest.text + readme.slice(current.end));
  console.log(`README.md: fault table copied from ${LATEST}`);
}
