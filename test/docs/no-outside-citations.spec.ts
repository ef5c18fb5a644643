import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * What a maintainer reads must be in the repository (docs/architecture.md): no tracked file may send them to a
 * guide outside it or to an issue tracker. The patterns are spelled so that this file does not match them.
 */
const OUTSIDE = [
  { what: 'the outside guides folder', pattern: /(^|[\s('"`[])shared\/\w/ },
  { what: 'the outside style guide', pattern: /\bSTYLE\.md\b/ },
  { what: 'the outside queue-semantics guide', pattern: /QUEUE[-_]SEMANTICS/ },
  { what: 'an issue number', pattern: /\b(issue|ticket)s?\s*(no\.?\s*|#\s*)?\d+/i },
  {
    what: 'an issue reference',
    pattern: /(\((PR\s*)?#\d+\)|\b(fix(es|ed)?|close[sd]?|resolve[sd]?|see|PR)\s+#\d+\b)/i,
  },
];

/** Tracked text files (git ls-files) as they are in the work tree: binary files and deleted ones left out. */
function trackedTextFiles(): string[] {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  return files.filter((file) => !/\.(png|jpe?g|gif|ico|woff2?|svg)$/i.test(file) && existsSync(join(ROOT, file)));
}

/** `file:line: what` for every citation outside the repository. */
function citations(file: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const { what, pattern } of OUTSIDE) if (pattern.test(line)) found.push(`${file}:${i + 1}: ${what}`);
  });
  return found;
}

describe('the repository cites nothing outside itself', () => {
  it('finds citations in a sample (the check can fail)', () => {
    // Assembled from pieces: written whole, these lines would be citations in this file.
    const sample = [
      ['// Libraries depend downward only (', 'shared', '/', 'STYLE', '.md).'],
      ['/** the invariant (QUEUE', '-', 'SEMANTICS.md) */'],
      [' * Issue', ' 8: regressions'],
      ['Where we stand on the targets of issue', ' 15'],
      ['the race is gone (', '#', '42)'],
      ['colour: #555; background: #2e9e5b; a shared subscription; queue semantics; see docs/ for the rules'],
    ]
      .map((pieces) => pieces.join(''))
      .join('\n');
    expect(citations('sample', sample)).toEqual([
      'sample:1: the outside guides folder',
      'sample:1: the outside style guide',
      'sample:2: the outside queue-semantics guide',
      'sample:3: an issue number',
      'sample:4: an issue number',
      'sample:5: an issue reference',
    ]);
  });

  it('holds for every tracked file', () => {
    const files = trackedTextFiles();
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((file) => citations(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(found).toEqual([]);
  });
});
