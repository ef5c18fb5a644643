import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findChromium, findNode24, findPostgresBin } from '../../scripts/find-tools';

/** Lays out fake programs (empty executable scripts) under a temporary root, as Debian or Homebrew would. */
function layout(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'find-tools-'));
  for (const file of files) {
    const path = join(root, file);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '#!/bin/sh\n');
    chmodSync(path, 0o755);
  }
  return root;
}

describe('scripts/find-tools.js: the programs the tests start, on Debian, on macOS, or from a variable', () => {
  const roots: string[] = [];
  const fake = (files: string[]) => {
    const root = layout(files);
    roots.push(root);
    return root;
  };
  afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

  const serverTools = (dir: string) => [`${dir}/initdb`, `${dir}/pg_ctl`];
  const none = { debian: '/nonexistent/postgresql', homebrew: ['/nonexistent/opt'] };

  it("finds PostgreSQL's server programs: Debian's newest version, else Homebrew's newest postgresql@N", () => {
    const debian = fake([...serverTools('lib/postgresql/9/bin'), ...serverTools('lib/postgresql/16/bin')]);
    const places = (over: object) => ({ ...none, ...over });
    expect(findPostgresBin({}, places({ debian: join(debian, 'lib/postgresql') }))).toBe(
      join(debian, 'lib/postgresql/16/bin'),
    );
    const brew = fake([...serverTools('opt/postgresql@15/bin'), ...serverTools('opt/postgresql@17/bin')]);
    expect(findPostgresBin({}, places({ homebrew: ['/nonexistent', join(brew, 'opt')] }))).toBe(
      join(brew, 'opt/postgresql@17/bin'),
    );
  });

  it('takes TEST_POSTGRES_BIN when set (and finds nothing there rather than elsewhere), else initdb on PATH', () => {
    const own = fake(serverTools('pg/bin'));
    expect(findPostgresBin({ TEST_POSTGRES_BIN: join(own, 'pg/bin') }, none)).toBe(join(own, 'pg/bin'));
    expect(findPostgresBin({ TEST_POSTGRES_BIN: join(own, 'missing') }, none)).toBeUndefined();
    expect(findPostgresBin({ PATH: join(own, 'pg/bin') }, none)).toBe(join(own, 'pg/bin'));
    expect(findPostgresBin({ PATH: '' }, none)).toBeUndefined();
  });

  it('finds Chromium from CHROMIUM_PATH, the usual places (Debian, the macOS apps), then PATH', () => {
    const root = fake(['bin/chromium', 'Applications/Chromium.app/Contents/MacOS/Chromium', 'path/google-chrome']);
    expect(findChromium({ CHROMIUM_PATH: join(root, 'bin/chromium') }, [])).toBe(join(root, 'bin/chromium'));
    expect(findChromium({ CHROMIUM_PATH: join(root, 'nope') }, [])).toBeUndefined();
    const mac = join(root, 'Applications/Chromium.app/Contents/MacOS/Chromium');
    expect(findChromium({ PATH: '' }, ['/nonexistent/chromium', mac])).toBe(mac);
    expect(findChromium({ PATH: join(root, 'path') }, [])).toBe(join(root, 'path/google-chrome'));
    expect(findChromium({ PATH: '' }, [])).toBeUndefined();
  });

  it('names what is missing when TEST_NODE24_PATH is not a Node 24', () => {
    const root = fake(['bin/node']);
    const found = findNode24({ TEST_NODE24_PATH: join(root, 'bin/node') }, { install: false });
    expect(found).toEqual({
      problem: expect.stringMatching(/^Node 24 at TEST_NODE24_PATH=.*not an executable Node 24/),
    });
    expect(findNode24({ TEST_NODE24_PATH: process.execPath }, { install: false })).toEqual(
      process.version.startsWith('v24.') ? { path: process.execPath } : { problem: expect.any(String) },
    );
  });
});
