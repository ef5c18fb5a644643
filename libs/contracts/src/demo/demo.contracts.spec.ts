import { cpuContract, emailContract, failContract, sleepContract } from './demo.contracts';

describe('demo contracts', () => {
  it('accepts the seed example: a bare address string', () => {
    expect(emailContract.check('hello@domain.com')).toEqual({
      ok: true,
      value: expect.objectContaining({ to: 'hello@domain.com' }),
    });
  });

  it('names the field and rule a payload breaks', () => {
    expect(emailContract.check({ to: 'nope' })).toEqual({
      ok: false,
      violations: [{ field: 'payload.to', rule: 'isEmail', message: 'payload.to must be an email' }],
    });
    expect(sleepContract.check({ ms: -1 })).toMatchObject({
      ok: false,
      violations: [{ field: 'payload.ms', rule: 'min' }],
    });
    expect(sleepContract.check([1])).toMatchObject({ ok: false, violations: [{ field: 'payload', rule: 'isObject' }] });
  });

  it('rejects unknown payload fields', () => {
    expect(failContract.check({ fail_times: 1, extra: true })).toMatchObject({
      ok: false,
      violations: [{ field: 'payload.extra', rule: 'whitelistValidation' }],
    });
  });

  it('bounds a cpu busy loop to 0..60000 ms', () => {
    expect(cpuContract.check({ ms: 60_000 })).toMatchObject({ ok: true, value: { ms: 60_000 } });
    expect(cpuContract.check({ ms: 60_001 })).toMatchObject({
      ok: false,
      violations: [{ field: 'payload.ms', rule: 'max' }],
    });
    expect(cpuContract.check({ ms: 1.5 })).toMatchObject({
      ok: false,
      violations: [{ field: 'payload.ms', rule: 'isInt' }],
    });
  });
});
