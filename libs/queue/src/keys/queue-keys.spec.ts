import { createdAtOfTaskId, isTaskId, queueOfTaskId, TASK_ID_SOURCE } from './queue-keys';

describe('task ids', () => {
  // 2026-12-06T00:00:00.000Z in 9 base-36 digits, then sequence number 35 ('z', 1 digit).
  const at = Date.UTC(2026, 11, 6);
  const short = `email.${at.toString(36).padStart(9, '0')}1z`;
  const uuid = 'email.0b8f3c1e-4f5a-4c7e-9d55-2f1a7c9e8b10';

  it('accepts the short form and the earlier uuid form, and names the queue of each', () => {
    expect(isTaskId(short)).toBe(true);
    expect(isTaskId(uuid)).toBe(true);
    expect(queueOfTaskId(short)).toBe('email');
    expect(queueOfTaskId(uuid)).toBe('email');
  });

  it('reads the creation time from a short id only', () => {
    expect(createdAtOfTaskId(short)).toBe(at);
    expect(createdAtOfTaskId(uuid)).toBeNull();
    expect(createdAtOfTaskId('not-an-id')).toBeNull();
  });

  it('refuses what is neither form', () => {
    for (const id of [
      'email.',
      'email.abc',
      'email.0mkq3x2a1',
      `email.${at.toString(36).padStart(9, '0')}2z`,
      `email.${at.toString(36).padStart(9, '0')}1zz`,
      'Email.0mkq3x2a1z',
      'email.0MKQ3X2A1Z',
      'email.0b8f3c1e-4f5a-4c7e',
      'a.b.0mkq3x2a1z',
      `${'q'.repeat(65)}.0mkq3x2a1z`,
      'email.0mkq3x2a1z-',
    ])
      expect([id, isTaskId(id)]).toEqual([id, false]);
  });

  it('embeds in larger patterns whole (a listing cursor)', () => {
    const cursor = new RegExp(`^(\\d+):(${TASK_ID_SOURCE})$`);
    expect(cursor.exec(`12:${short}`)?.[2]).toBe(short);
    expect(cursor.exec(`12:${uuid}`)?.[2]).toBe(uuid);
    expect(cursor.test(`12:${short}.x`)).toBe(false);
  });
});
