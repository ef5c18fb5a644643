import { emailContract, failContract, sleepContract } from './demo.contracts';

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
});
