import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import helmet, { HelmetOptions } from 'helmet';
import { helmetHeaders } from './configure-api';

/** What helmet itself sets on a real Node response for `options`. */
async function headersFromRealResponse(options: HelmetOptions): Promise<Record<string, string>> {
  const middleware = helmet(options);
  const server = createServer((req: IncomingMessage, res: ServerResponse) =>
    middleware(req, res, () => {
      res.end();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const names = Object.keys(helmetHeaders(options));
    return Object.fromEntries(names.map((name) => [name, res.headers.get(name) ?? '(absent)']));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('helmetHeaders (security headers computed once)', () => {
  const options = {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"] } },
  };

  it('gives exactly the headers helmet sets on a real response', async () => {
    const once = helmetHeaders(options);
    expect(Object.keys(once).length).toBeGreaterThanOrEqual(10);
    expect(once['x-content-type-options']).toBe('nosniff');
    expect(once['content-security-policy']).toBe("default-src 'self';frame-ancestors 'none'");
    expect(await headersFromRealResponse(options)).toEqual(once);
  });

  it('refuses options helmet rejects (an invalid directive name), at boot, instead of serving without the headers', () => {
    expect(() =>
      helmetHeaders({ contentSecurityPolicy: { useDefaults: false, directives: { 'default src': ["'self'"] } } }),
    ).toThrow();
  });
});
