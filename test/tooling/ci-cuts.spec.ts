import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The quoted names of the array literal `const NAME = [ ... ];` in scripts/test.js. */
function namesOf(source: string, name: string): string[] {
  const literal = new RegExp(`const ${name} = \\[([^\\]]*)\\];`).exec(source);
  if (!literal) throw new Error(`scripts/test.js has no array ${name}`);
  return [...literal[1].matchAll(/'([^']+)'/g)].map((match) => match[1]);
}

/**
 * The e2e specs the topology passes leave out are named in scripts/test.js by hand: a renamed or deleted spec
 * would leave a name that cuts nothing, and the spec under its new name would run where it was meant not to.
 */
describe("scripts/test.js: the topology passes' cuts name e2e specs that exist", () => {
  const source = readFileSync(join(ROOT, 'scripts', 'test.js'), 'utf8');

  it.each(['HTTP_LAYER_E2E', 'SENTINEL_ALSO_LEAVES_OUT'])('%s', (list) => {
    const names = namesOf(source, list);
    expect(names.length).toBeGreaterThan(0);
    const missing = names.filter((name) => !existsSync(join(ROOT, 'test', 'e2e', `${name}.e2e-spec.ts`)));
    expect(missing).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
  });
});
