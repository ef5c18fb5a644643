import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deprecationWarnings, SharedEnv, validateEnv } from './env';

describe('renamed variables (old name read for one release)', () => {
  const validate = validateEnv(SharedEnv);

  it('reads QUEUE_IDLE_TTL (seconds) as QUEUE_UNSERVED_AFTER_MS (ms), and warns naming the new variable', () => {
    expect(validate({ QUEUE_IDLE_TTL: '60' })).toMatchObject({ QUEUE_UNSERVED_AFTER_MS: 60_000 });
    expect(deprecationWarnings({ QUEUE_IDLE_TTL: '60' })).toEqual([
      expect.stringMatching(
        /^QUEUE_IDLE_TTL is deprecated and read for one release only \(it expires nothing: .*\): set QUEUE_UNSERVED_AFTER_MS=60000 instead\.$/,
      ),
    ]);
  });

  it('takes the new name alone, without a warning', () => {
    expect(validate({ QUEUE_UNSERVED_AFTER_MS: '5000' })).toMatchObject({ QUEUE_UNSERVED_AFTER_MS: 5000 });
    expect(validate({})).toMatchObject({ QUEUE_UNSERVED_AFTER_MS: 900_000 });
    expect(deprecationWarnings({ QUEUE_UNSERVED_AFTER_MS: '5000' })).toEqual([]);
    expect(deprecationWarnings({})).toEqual([]);
  });

  it('lets the new name win when both are given, and says the old one is ignored', () => {
    expect(validate({ QUEUE_IDLE_TTL: '60', QUEUE_UNSERVED_AFTER_MS: '5000' })).toMatchObject({
      QUEUE_UNSERVED_AFTER_MS: 5000,
    });
    expect(deprecationWarnings({ QUEUE_IDLE_TTL: '60', QUEUE_UNSERVED_AFTER_MS: '5000' })).toEqual([
      'QUEUE_IDLE_TTL is ignored: QUEUE_UNSERVED_AFTER_MS is set, and wins. Remove QUEUE_IDLE_TTL; it is the old name of QUEUE_UNSERVED_AFTER_MS, read for one release only.',
    ]);
  });

  it('counts the new name holding the converted old value as the old name in use (Nest writes values back)', () => {
    expect(deprecationWarnings({ QUEUE_IDLE_TTL: '60', QUEUE_UNSERVED_AFTER_MS: '60000' })).toEqual([
      expect.stringContaining('QUEUE_IDLE_TTL is deprecated'),
    ]);
  });

  it('refuses a bad old value naming the old variable, its rule and the new name', () => {
    expect(() => validate({ QUEUE_IDLE_TTL: '15m' })).toThrow(
      'QUEUE_IDLE_TTL="15m": must be a whole number of seconds (or set QUEUE_UNSERVED_AFTER_MS instead, its new name)',
    );
    // Converted, it is held to the new variable's own rules.
    expect(() => validate({ QUEUE_IDLE_TTL: '0' })).toThrow(
      /QUEUE_UNSERVED_AFTER_MS="0": .*must not be less than 1000/,
    );
  });

  it('reads the old name from a file too (QUEUE_IDLE_TTL_FILE)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskq-env-'));
    try {
      const file = join(dir, 'ttl');
      writeFileSync(file, '120\n');
      expect(validate({ QUEUE_IDLE_TTL_FILE: file })).toMatchObject({ QUEUE_UNSERVED_AFTER_MS: 120_000 });
      expect(deprecationWarnings({ QUEUE_IDLE_TTL_FILE: file })).toEqual([
        expect.stringContaining('QUEUE_IDLE_TTL is deprecated and read for one release only'),
      ]);
      expect(deprecationWarnings({ QUEUE_IDLE_TTL_FILE: file })[0]).toContain('set QUEUE_UNSERVED_AFTER_MS=120000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
