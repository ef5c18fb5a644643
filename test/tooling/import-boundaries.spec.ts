import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * The repository's ESLint configuration, run on import lines as if they were files of the tree (they are
 * never written): the app boundaries of docs/architecture.md hold for every spelling of an import. ESLint
 * loads its ESM config with import(), which jest's module sandbox cannot do, so one child process lints all.
 */
function ruleIds(fixtures: { file: string; code: string }[]): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const fixtures = JSON.parse(process.argv[1]);
    (async () => {
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const { file, code } of fixtures) {
        const [result] = await eslint.lintText(code, { filePath: file });
        out.push(result.messages.map((m) => m.ruleId ?? m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((error) => { console.error(error); process.exit(1); });`;
  const run = spawnSync(process.execPath, ['-e', script, JSON.stringify(fixtures)], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** One import statement in a file at `file` (relative to the root), using what it imports. */
const fixture = (file: string, from: string) => ({
  file: join(ROOT, file),
  code: `import * as imported from '${from}';\n\nexport const used = imported;\n`,
});

describe('import boundaries (eslint.config.mjs)', () => {
  // Each app's main is what the target resolves to: a real file, so the zone check sees a real path.
  const crossings = [
    fixture('apps/api/src/boundary-fixture.ts', '../../worker/src/main'),
    fixture('apps/worker/src/handlers/boundary-fixture.ts', '../../../api/src/main'),
    fixture('apps/cli/src/boundary-fixture.ts', '../../api/src/main'),
    fixture('apps/console/src/boundary-fixture.tsx', '../../cli/src/main'),
    fixture('apps/api/src/boundary-fixture.ts', '../../console/src/main'),
    fixture('libs/queue/src/boundary-fixture.ts', '../../../apps/worker/src/main'),
  ];
  const allowed = [
    fixture('apps/api/src/boundary-fixture.ts', './main'),
    fixture('apps/worker/src/boundary-fixture.ts', '@app/queue'),
  ];

  let found: string[][];
  beforeAll(() => {
    found = ruleIds([...crossings, ...allowed]);
  });

  it('refuses a relative import from one app into another, from any app, and from a lib into an app', () => {
    crossings.forEach(({ file }, i) => {
      expect([file.slice(ROOT.length + 1), found[i]]).toEqual([
        file.slice(ROOT.length + 1),
        expect.arrayContaining(['import/no-restricted-paths']),
      ]);
    });
  });

  it('lets an app import its own files and the libs through their root entry', () => {
    expect(found.slice(crossings.length)).toEqual([[], []]);
  });
});
