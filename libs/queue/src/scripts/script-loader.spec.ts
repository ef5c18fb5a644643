import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_PRIORITY, MIN_PRIORITY } from '@app/contracts';
import { DEAD_REASONS } from '../task';
import { loadScripts } from './script-loader';

describe('Lua scripts', () => {
  const scripts = loadScripts();
  const prelude = scripts[0].lua;

  it('are loaded one per transition, named verbNoun-<keys>.lua', () => {
    expect(scripts.map((s) => s.command)).toEqual(
      expect.arrayContaining(['taskqEnqueueTasks', 'taskqClaimTasks', 'taskqAckTasks', 'taskqFailTask']),
    );
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

describe('loadScripts', () => {
  it('refuses a directory where two files define one command (a stale build after a rename)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskq-lua-'));
    try {
      writeFileSync(join(dir, 'activateSchedule-2.lua'), 'return 1');
      writeFileSync(join(dir, 'activateSchedule-4.lua'), 'return 1');
      expect(() => loadScripts(dir)).toThrow(
        /activateSchedule-2\.lua and activateSchedule-4\.lua .* both define taskqActivateSchedule: a stale build\?/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
