import { addressKey, trustedProxies } from './connection-share';

describe('the per-address connection share', () => {
  it('counts IPv4 by address (mapped or not) and IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('exempts TRUST_PROXY addresses and networks', () => {
    const exempt = trustedProxies('10.0.0.0/8,127.0.0.1,2001:db8::/32');
    expect(exempt.check('10.1.2.3', 'ipv4')).toBe(true);
    expect(exempt.check('127.0.0.1', 'ipv4')).toBe(true);
    expect(exempt.check('127.0.0.2', 'ipv4')).toBe(false);
    expect(exempt.check('2001:db8:5::1', 'ipv6')).toBe(true);
    expect(trustedProxies('').check('10.1.2.3', 'ipv4')).toBe(false);
  });
});
