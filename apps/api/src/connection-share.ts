import { BlockList, isIPv4, isIPv6, Socket } from 'node:net';
import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';

/** How often a refused connection is logged at most (a flood of them must not flood the log). */
const LOG_EVERY_MS = 60_000;

/** The address without an IPv4-mapped prefix (::ffff:a.b.c.d → a.b.c.d) or an IPv6 zone. */
function plainAddress(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').replace(/%.*$/, '');
}

/**
 * The key an address is counted under. IPv4 (also as ::ffff:a.b.c.d) by address; IPv6 by its /64
 * network: one host commonly holds a whole /64, so counting single IPv6 addresses would give it
 * 2^64 shares.
 */
export function addressKey(address: string): string {
  const plain = plainAddress(address);
  if (!isIPv6(plain)) return plain;
  const [head, tail = ''] = plain.toLowerCase().split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = plain.includes('::') ? [...front, ...Array(8 - front.length - back.length).fill('0'), ...back] : front;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** TRUST_PROXY's addresses and CIDRs as a BlockList (already validated by ApiEnv). */
export function trustedProxies(setting: string): BlockList {
  const list = new BlockList();
  for (const entry of setting.split(',').filter(Boolean)) {
    const [address, bits] = entry.split('/');
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/**
 * Gives each client address a share of the api's connections (MAX_CONNECTIONS_PER_ADDRESS): a
 * connection past its address's share is closed at once, before a byte of it is read. MAX_CONNECTIONS
 * alone is one pool for everyone, so one address opening idle sockets could hold all of it and keep
 * every other client out until the header timeout closed them, and then again. Trusted proxies
 * (TRUST_PROXY) are exempt: everything behind them arrives from their addresses.
 */
export class ConnectionShare {
  private readonly logger = new Logger('ConnectionShare');
  private readonly open = new Map<string, number>();
  private refused = 0;
  private lastLog = 0;

  constructor(
    private readonly perAddress: number,
    private readonly exempt: BlockList,
  ) {}

  /** Counts every connection of `server` from now on; a share of 0 counts nothing. */
  install(server: Server): void {
    if (this.perAddress <= 0) return;
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  /** Connections open now from the address's key (for tests and the log). */
  openFrom(address: string): number {
    return this.open.get(addressKey(address)) ?? 0;
  }

  private admit(socket: Socket): void {
    if (socket.remoteAddress === undefined) return;
    const address = plainAddress(socket.remoteAddress);
    if (this.exempt.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')) return;
    const key = addressKey(address);
    const count = this.open.get(key) ?? 0;
    if (count >= this.perAddress) {
      socket.destroy();
      this.noteRefused(key);
      return;
    }
    this.open.set(key, count + 1);
    socket.once('close', () => {
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    });
  }

  private noteRefused(key: string): void {
    this.refused++;
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.logger.warn({
      msg: `refused ${this.refused} connection(s) past MAX_CONNECTIONS_PER_ADDRESS (${this.perAddress}) since the last such line; the latest from ${key}`,
      address: key,
    });
    this.refused = 0;
    this.lastLog = now;
  }
}
