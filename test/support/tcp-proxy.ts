import { createConnection, createServer, Server, Socket } from 'node:net';
import type { TestRedis } from './redis';

/** Which way `hold()` stops the bytes: client to target, target to client, or both. */
export type HeldDirection = 'requests' | 'replies' | 'both';

/**
 * A TCP forwarder on a free loopback port, to cut a client off a server without touching the server:
 * `cut()` drops every open connection and refuses new ones (as an unreachable host does), `restore()`
 * accepts again on the same port. `hold()` keeps the connections open but stops forwarding (a peer
 * that stopped answering, or a reply that never comes back), `release()` lets the held bytes through.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private held?: HeldDirection;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const probe = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const proxy = new TcpProxy(port, target);
    await proxy.restore();
    return proxy;
  }

  /** Accepts connections again (on the same port). */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      const pair = { client, upstream };
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      this.pairs.add(pair);
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => {
        client.destroy();
        this.pairs.delete(pair);
      });
      this.applyHold(pair);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /**
   * Stops forwarding on every connection, open or new, without closing any: `requests` never reach
   * the target, `replies` (the target ran the command) never reach the client, `both` neither.
   */
  hold(direction: HeldDirection = 'both'): void {
    this.held = direction;
    for (const pair of this.pairs) this.applyHold(pair);
  }

  /** Forwards again, held bytes first. */
  release(): void {
    this.held = undefined;
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  private applyHold({ client, upstream }: { client: Socket; upstream: Socket }): void {
    if (this.held === 'requests' || this.held === 'both') client.pause();
    if (this.held === 'replies' || this.held === 'both') upstream.pause();
  }

  /** Drops every connection and refuses new ones until restore(). */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}

/**
 * The address of the Redis node that holds `key` in the suite's topology (the cluster master of its
 * slot, the Sentinel master, the one node), for a plain connection through a TcpProxy to it.
 */
export async function nodeServingKey(redis: TestRedis, key: string): Promise<{ host: string; port: number }> {
  if ('nodes' in redis && typeof redis.nodes === 'function') {
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = ranges.find(([first, last]) => slot >= first && slot <= last);
    if (!range) throw new Error(`no cluster node serves slot ${slot}`);
    return { host: range[2][0], port: Number(range[2][1]) };
  }
  const info = String(await redis.call('CLIENT', 'INFO'));
  const address = / laddr=(\S+):(\d+) /.exec(info);
  if (!address) throw new Error(`CLIENT INFO has no laddr: ${info}`);
  return { host: address[1], port: Number(address[2]) };
}
