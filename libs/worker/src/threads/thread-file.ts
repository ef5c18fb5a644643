import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';

/**
 * Where a thread-isolated handler's module is: `file` as given, else with `.js` (a build: webpack emits
 * each `*.thread.ts` beside main.js, tsc beside its source's output), else `.ts` (running from source,
 * the tests: the pool loads it through ts-node). A string is the problem, for the boot error.
 */
export function resolveThreadFile(
  file: string,
  exists: (path: string) => boolean = existsSync,
): string | { problem: string } {
  if (!isAbsolute(file)) {
    return { problem: `file "${file}" is not an absolute path: give join(__dirname, '<name>.thread')` };
  }
  const tried = /\.[cm]?[jt]s$/.test(file) ? [file] : [`${file}.js`, `${file}.ts`];
  const found = tried.find((path) => exists(path));
  if (found) return found;
  return {
    problem:
      `no module at ${tried.join(' or ')}: name the file *.thread.ts so the build emits it beside main.js ` +
      `(webpack.config.js), and give its path without extension`,
  };
}
