import { parse } from 'pg-connection-string';
import { withPassword } from './pg-pool.provider';

describe('withPassword (DATABASE_PASSWORD)', () => {
  it('puts the password into a URL without one, as pg reads it back', () => {
    const url = withPassword('postgres://taskq@db:5432/taskq?sslmode=require', 'p@ss:w/rd %&');
    expect(parse(url)).toMatchObject({ user: 'taskq', password: 'p@ss:w/rd %&', host: 'db', database: 'taskq' });
    expect(parse(url).sslmode).toBe('require');
  });

  it('wins over a password in the URL', () => {
    expect(parse(withPassword('postgres://taskq:old@db/taskq', 'new')).password).toBe('new');
  });

  it('leaves the URL alone without one', () => {
    expect(withPassword('postgres://taskq:pw@db/taskq', undefined)).toBe('postgres://taskq:pw@db/taskq');
  });
});
