import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINISHED_STATUSES as CLIENT_FINISHED, TASK_STATUSES as CLIENT_STATUSES } from '@app/client';
import { TestDatabase } from '@app/testing';
import { FINISHED_STATUSES, TASK_STATUSES } from './task-status';

const LUA_DIR = join(__dirname, '..', '..', 'queue', 'src', 'scripts', 'lua');
const lua = (name: string) => readFileSync(join(LUA_DIR, name), 'utf8');
const UNFINISHED = TASK_STATUSES.filter((status) => !(FINISHED_STATUSES as readonly string[]).includes(status));
const sorted = (list: readonly string[]) => [...list].sort();

/** The keys of the Lua table literal `local NAME = { key = ..., ... }` in `source`. */
function luaTableKeys(source: string, name: string): string[] {
  const table = new RegExp(`local ${name} = \\{([^}]*)\\}`).exec(source);
  if (!table) throw new Error(`no table ${name}`);
  return [...table[1].matchAll(/(\w+)\s*=/g)].map((key) => key[1]);
}

/**
 * The task states are listed once, in libs/contracts. The copies that cannot import the list (Lua, SQL, the
 * client generated from the api's document, which the CLI and the console use) must say the same.
 */
describe('the task states: one list, every copy held to it', () => {
  let db: TestDatabase | undefined;
  afterAll(async () => db?.drop());

  it('the typed client, which the CLI and the console take them from, has the same states in the same order', () => {
    expect(CLIENT_STATUSES).toEqual(TASK_STATUSES);
    expect(CLIENT_FINISHED).toEqual(FINISHED_STATUSES);
  });

  it("the Lua scripts' FINISHED table holds the finished states, and cancelTask's homes the unfinished ones", () => {
    expect(sorted(luaTableKeys(lua('_prelude.lua'), 'FINISHED'))).toEqual(sorted(FINISHED_STATUSES));
    expect(sorted(luaTableKeys(lua('cancelTask-8.lua'), 'homes'))).toEqual(sorted(UNFINISHED));
  });

  it('every state a Lua script writes or compares is one of the states', () => {
    const named = new Set<string>();
    for (const file of readdirSync(LUA_DIR).filter((name) => name.endsWith('.lua'))) {
      const source = lua(file);
      // The value after 'status' in each HSET (a call runs until the next one), and every comparison.
      for (const call of source.split('redis.call(').filter((text) => text.startsWith("'HSET'"))) {
        for (const [, status] of call.matchAll(/'status',\s*'(\w+)'/g)) named.add(status);
      }
      for (const [, status] of source.matchAll(/\bstatus\s*[=~]=\s*'(\w+)'/g)) named.add(status);
    }
    expect(named.size).toBeGreaterThanOrEqual(5);
    expect([...named].filter((status) => !(TASK_STATUSES as readonly string[]).includes(status))).toEqual([]);
  });

  it("the result store's CHECK constraint (migrations/, applied to a database) allows exactly the finished states", async () => {
    db = await TestDatabase.create('task_statuses');
    const { rows } = await db.sql.query<{ definition: string }>(
      `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
        WHERE conrelid = 'task_results'::regclass AND contype = 'c'`,
    );
    const checks = rows.map((row) => row.definition).filter((definition) => /\bstatus\b/.test(definition));
    expect(checks).toHaveLength(1);
    // PostgreSQL shows IN (...) as: CHECK ((status = ANY (ARRAY['succeeded'::text, 'dead'::text, ...])))
    const allowed = [...checks[0].matchAll(/'([^']*)'::text/g)].map((literal) => literal[1]);
    expect(sorted(allowed)).toEqual(sorted(FINISHED_STATUSES));
  });
});
