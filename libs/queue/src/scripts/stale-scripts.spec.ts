import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScripts } from './script-loader';

describe('Lua script loading', () => {
  it('refuses two files for one command (a stale copy with another key count), naming both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskq-lua-'));
    try {
      writeFileSync(join(dir, 'ackTasks-4.lua'), 'return 1');
      writeFileSync(join(dir, 'ackTasks-6.lua'), 'return 1');
      expect(() => loadScripts(dir)).toThrow(
        /ackTasks-4\.lua and ackTasks-6\.lua in .* both define taskqAckTasks: a stale copy\? Delete it and build again/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
