import { join } from 'node:path';
import * as authScripts from '../../../auth/src/scripts/auth-scripts';
import * as scheduleScripts from '../schedules/schedule-scripts';
import * as migrationScripts from './migration-scripts';
import * as queueScripts from './queue-scripts';
import { Script } from './script';
import { loadScripts } from './script-loader';
import * as taskScripts from './task-scripts';
import * as workerScripts from './worker-scripts';

/**
 * Every Lua script has exactly one typed wrapper, and the wrapper names as many KEYS as the script's file
 * declares: the scripts are found by listing the Lua directories, so a new script without a wrapper, or a
 * wrapper left behind by a deleted script, fails here.
 */
type AnyScript = Script<string, never, unknown>;
const isScript = (value: unknown): value is AnyScript =>
  typeof value === 'object' && value !== null && 'command' in value && 'keys' in value && 'run' in value;
const wrappers = [workerScripts, taskScripts, queueScripts, scheduleScripts, authScripts, migrationScripts]
  .flatMap((module) => Object.values(module))
  .filter(isScript);
const files = [
  ...loadScripts(join(__dirname, 'lua'), 'taskq'),
  ...loadScripts(join(__dirname, '..', '..', '..', 'auth', 'src', 'scripts', 'lua'), 'taskqAuth'),
];

describe('script wrappers', () => {
  it('exist once for every script file, and for nothing else', () => {
    expect(files.length).toBeGreaterThan(25);
    expect(wrappers.map((w) => w.command).sort()).toEqual(files.map((f) => f.command).sort());
  });

  it.each(files.map((f) => [f.command, f.numberOfKeys] as const))('%s names its %i keys, each once', (command, n) => {
    const wrapper = wrappers.find((w) => w.command === command)!;
    expect(wrapper.keys).toHaveLength(n);
    expect(new Set(wrapper.keys).size).toBe(n);
  });
});
