import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PRIORITY, MIN_PRIORITY } from '@app/contracts';
import { DEAD_REASONS } from '../task';
import { loadScripts } from './script-loader';

describe('Lua scripts', () => {
  const scripts = loadScripts();
  const prelude = scripts[0].lua;

  it('are loaded one per file, each named verbNoun-<keys>.lua and defined with that many keys', () => {
    const files = readdirSync(join(__dirname, 'lua')).filter((file) => file.endsWith('.lua') && !file.startsWith('_'));
    const expected = files.map((file) => {
      const [, name, keys] = /^([a-z][A-Za-z]*)-(\d+)\.lua$/.exec(file) ?? [file, `misnamed ${file}`, '?'];
      return `taskq${name[0].toUpperCase()}${name.slice(1)}/${keys}`;
    });
    expect(scripts.map((s) => `${s.command}/${s.numberOfKeys}`).sort()).toEqual(expected.sort());
    expect(files.length).toBeGreaterThan(20);
  });

  // The scripts check their own inputs (a script that errors halfway is not rolled back); the
  // constants they check against must be the same as the TypeScript side's.
  it('check dead reasons and priorities against the same lists as the TypeScript side', () => {
    const reasons = /local DEAD_REASONS = \{([^}]*)\}/.exec(prelude)?.[1];
    expect(reasons?.match(/'([a-z_]+)'/g)?.map((r) => r.slice(1, -1))).toEqual([...DEAD_REASONS]);
    expect(/local MIN_PRIORITY, MAX_PRIORITY = (-?\d+), (-?\d+)/.exec(prelude)?.slice(1).map(Number)).toEqual([
      MIN_PRIORITY,
      MAX_PRIORITY,
    ]);
  });
});
