import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUTH_SCRIPT_CODE } from '@app/auth';
import { SCRIPT_CODE } from '../errors/queue-error';
import { UNSTORED_SETTINGS } from '../task-record';

/**
 * A script's refusal codes have one name on each side: a table in the Lua prelude (CODE, AUTH_CODE) and
 * its TypeScript twin the callers compare with. This holds the two equal, and keeps the numbers out of
 * the scripts themselves, so a code cannot mean one thing in Lua and another in TypeScript.
 */
const QUEUE_LUA = join(__dirname, 'lua');
const AUTH_LUA = join(__dirname, '..', '..', '..', 'auth', 'src', 'scripts', 'lua');
/** A refusal written as a number: `return -3`, `return { -1 }`, or a batch's per-task code. */
const NEGATIVE_LITERAL = /return\s*\{?\s*-\d|codes\[#codes \+ 1\] = -\d|code, shown = -\d/;

/** `local <table> = { NAME = -1, ... }` of a prelude, as { Name: -1 } (NOT_FOUND → NotFound). */
function luaCodeTable(dir: string, table: string): Record<string, number> {
  const lua = readFileSync(join(dir, '_prelude.lua'), 'utf8');
  const body = new RegExp(`^local ${table} = \\{\\n([^}]*)\\}`, 'm').exec(lua)?.[1];
  if (body === undefined) throw new Error(`no table ${table} in ${dir}/_prelude.lua`);
  const pascal = (name: string) => name.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
  return Object.fromEntries(
    [...body.matchAll(/^\s*([A-Z_]+) = (-?\d+),$/gm)].map(([, n, v]) => [pascal(n), Number(v)]),
  );
}

/** The code lines (comments dropped) of every script file in `dir`. */
function scriptLines(dir: string): { file: string; line: string }[] {
  return readdirSync(dir)
    .filter((file) => /^[a-z][A-Za-z]*-\d+\.lua$/.test(file))
    .flatMap((file) =>
      readFileSync(join(dir, file), 'utf8')
        .replace(/--\[\[[\s\S]*?\]\]/g, '')
        .split('\n')
        .map((line) => ({ file, line: line.replace(/--.*$/, '') })),
    );
}

describe('script refusal codes', () => {
  it('are the same table in the queue prelude and in SCRIPT_CODE', () => {
    expect(luaCodeTable(QUEUE_LUA, 'CODE')).toEqual(SCRIPT_CODE);
  });

  it('are the same table in the auth prelude and in AUTH_SCRIPT_CODE', () => {
    expect(luaCodeTable(AUTH_LUA, 'AUTH_CODE')).toEqual(AUTH_SCRIPT_CODE);
  });

  it('are returned by name: no script returns a negative number literal', () => {
    const lines = [...scriptLines(QUEUE_LUA), ...scriptLines(AUTH_LUA)];
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.filter(({ line }) => NEGATIVE_LITERAL.test(line))).toEqual([]);
  });

  it('finds a literal where one is written (the check above can fail)', () => {
    expect(NEGATIVE_LITERAL.test('if not status then return { -1 } end')).toBe(true);
    expect(NEGATIVE_LITERAL.test('if lease ~= ARGV[3] then return -3 end')).toBe(true);
    expect(NEGATIVE_LITERAL.test('if not status then return { CODE.NOT_FOUND } end')).toBe(false);
    expect(NEGATIVE_LITERAL.test('local out = { -1, now, 0 }')).toBe(false);
  });
});

describe('unstored run settings', () => {
  it('are the same table in the queue prelude (UNSTORED) and in UNSTORED_SETTINGS, which readers default to', () => {
    expect(luaCodeTable(QUEUE_LUA, 'UNSTORED')).toEqual({
      MaxRetries: UNSTORED_SETTINGS.maxRetries,
      TimeoutMs: UNSTORED_SETTINGS.timeoutMs,
    });
  });
});
