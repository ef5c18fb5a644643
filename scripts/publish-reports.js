#!/usr/bin/env node
/**
 * `npm run publish:reports`: the one step that puts test reports into tracked files. A test run writes
 * its reports under reports/ (git-ignored), so `npm test` leaves the tree as it was; publishing is
 * this explicit command, run after a run worth publishing, and its result is committed by hand.
 *
 *   reports/faults/latest.{md,json}   -> test/faults/results/, and its table into the README (Reliability)
 *   reports/faults/failover.{md,json} -> test/faults/results/, and its table into the README (Redis topologies)
 *   reports/dashboard-check.md        -> docs/deploy/dashboard-check.md
 *
 * Reports that are missing (that suite did not run, or did not pass) are left as published before.
 *   npm run publish:reports -- --check   exit 1 if a README block is not the published file's
 *
 * Each block is copied byte for byte: the suites already format them as prettier formats the README.
 */
const { copyFileSync, existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const { REPORTS_DIR: REPORTS } = require('./reports');

const ROOT = join(__dirname, '..');
const README = join(ROOT, 'README.md');
const PUBLISHED = join(ROOT, 'test', 'faults', 'results');
const FILES = [
  ['faults/latest.md', join(PUBLISHED, 'latest.md')],
  ['faults/latest.json', join(PUBLISHED, 'latest.json')],
  ['faults/failover.md', join(PUBLISHED, 'failover.md')],
  ['faults/failover.json', join(PUBLISHED, 'failover.json')],
  ['dashboard-check.md', join(ROOT, 'docs', 'deploy', 'dashboard-check.md')],
];
const BLOCKS = [
  { file: join(PUBLISHED, 'latest.md'), begin: '<!-- fault-table:begin', end: '<!-- fault-table:end -->' },
  { file: join(PUBLISHED, 'failover.md'), begin: '<!-- failover-table:begin', end: '<!-- failover-table:end -->' },
];
const show = (file) => relative(ROOT, file);

/** The block from its begin marker's line through its end marker. */
function block(text, file, { begin, end }) {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end, start);
  if (start < 0 || stop < 0) throw new Error(`${show(file)}: no ${begin} … ${end} block`);
  return { start, end: stop + end.length, text: text.slice(start, stop + end.length) };
}

const check = process.argv.includes('--check');
if (!check) {
  for (const [report, target] of FILES) {
    const source = join(REPORTS, report);
    if (!existsSync(source)) {
      console.log(`reports/${report}: none (left ${show(target)} as it was)`);
      continue;
    }
    copyFileSync(source, target);
    console.log(`reports/${report} -> ${show(target)}`);
  }
}

let readme = readFileSync(README, 'utf8');
let stale = 0;
for (const marks of BLOCKS) {
  const published = block(readFileSync(marks.file, 'utf8'), marks.file, marks);
  const current = block(readme, README, marks);
  if (check) {
    const same = current.text === published.text;
    if (!same) stale++;
    console[same ? 'log' : 'error'](
      `README.md: the block ${marks.begin} ${same ? 'is' : 'is not'} the one in ${show(marks.file)}`,
    );
  } else {
    readme = readme.slice(0, current.start) + published.text + readme.slice(current.end);
    console.log(`README.md: ${marks.begin} block copied from ${show(marks.file)}`);
  }
}
if (check) process.exit(stale ? 1 : 0);
writeFileSync(README, readme);
