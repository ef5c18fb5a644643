import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiEnv } from '../../apps/api/src/config/api.env';
import { WorkerEnv } from '@app/worker';

/**
 * README's "Configuration" tables are the operator's copy of the environment schema: every variable the
 * apps read is listed, nothing else is, and a literal default in the table is the one the apps use.
 */
interface Row {
  names: string[];
  defaultCell: string;
  app: string;
}

function readmeRows(): Row[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.split(/^## Configuration$/m)[1].split(/^## /m)[0];
  return section
    .split('\n')
    .filter((line) => /^\| `[A-Z]/.test(line))
    .map((line) => {
      const [name, defaultCell, app] = line
        .split('|')
        .slice(1, 4)
        .map((cell) => cell.trim());
      return { names: [...name.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]), defaultCell, app };
    });
}

const defaults = { api: new ApiEnv() as object, worker: new WorkerEnv() as object };
const schemaNames = new Set([...Object.keys(defaults.api), ...Object.keys(defaults.worker)]);

describe('README configuration tables', () => {
  const rows = readmeRows();
  const listed = new Set(rows.flatMap((row) => row.names));

  it('lists every variable the apps read', () => {
    expect([...schemaNames].filter((name) => !listed.has(name))).toEqual([]);
  });

  it('lists nothing the apps do not read', () => {
    expect([...listed].filter((name) => !schemaNames.has(name))).toEqual([]);
  });

  it('shows the defaults the apps use', () => {
    const wrong: string[] = [];
    for (const row of rows) {
      const literal = /^`([^`]*)`$/.exec(row.defaultCell)?.[1];
      if (literal === undefined || row.names.length !== 1) continue;
      const name = row.names[0];
      for (const app of ['api', 'worker'] as const) {
        if (row.app !== app && row.app !== 'both') continue;
        const actual = (defaults[app] as Record<string, unknown>)[name];
        if (actual !== undefined && String(actual) !== literal)
          wrong.push(`${name} (${app}): README ${literal}, app ${actual}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
