import { createServer, Server, Socket } from 'node:net';
import Redis from 'ioredis';
import { OwnRedis, RedisServerExited } from '@app/testing';

jest.setTimeout(30_000);

/** OwnRedis, the fault suite's Redis: port races and exits are reported, and a fault's damage is undone. */
describe('OwnRedis', () => {
  let redis: OwnRedis | undefined;
  let squatter: Server | undefined;

  /** Something else listening on the port (what a lost check-then-use race looks like): accepts, never answers. */
  const occupy = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer((socket) => squatterSockets.push(socket));
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  const squatterSockets: Socket[] = [];

  const ping = async (url: string) => {
    const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    try {
      await client.connect();
      return await client.ping();
    } finally {
      client.disconnect();
    }
  };

  afterEach(async () => {
    await redis?.destroy();
    squatterSockets.splice(0).forEach((socket) => socket.destroy());
    await new Promise((resolve) => (squatter ? squatter.close(resolve) : resolve(undefined)));
    redis = squatter = undefined;
  });

  it('starts on a new port when its port was taken before the first start', async () => {
    redis = await OwnRedis.create();
    const taken = redis.port;
    squatter = await occupy(taken);
    await redis.start();
    expect(redis.port).not.toBe(taken);
    expect(await ping(redis.url)).toBe('PONG');
  });

  it("fails at once with redis-server's own message when a restart cannot bind its port", async () => {
    redis = await OwnRedis.create();
    await redis.start();
    const port = redis.port;
    await redis.kill('SIGKILL');
    squatter = await occupy(port);
    const failure = await redis.start().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RedisServerExited);
    expect((failure as RedisServerExited).portTaken).toBe(true);
    expect((failure as Error).message).toMatch(/Address already in use/);
    // A restart keeps its port: clients hold the URL.
    expect(redis.port).toBe(port);
  });

  it('ensureUp may move a killed server to a new port when told no client holds its URL', async () => {
    redis = await OwnRedis.create();
    await redis.start();
    const port = redis.port;
    await redis.kill('SIGKILL');
    squatter = await occupy(port);
    await redis.ensureUp({ portMayChange: true });
    expect(redis.port).not.toBe(port);
    expect(await ping(redis.url)).toBe('PONG');
  });

  it('ensureUp resumes a paused server and restarts a killed one', async () => {
    redis = await OwnRedis.create(['--appendonly', 'yes', '--appendfsync', 'always']);
    await redis.start();
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, commandTimeout: 300 });
    try {
      await client.set('k', 'v');
      redis.pause();
      await expect(client.get('k')).rejects.toThrow(/timed out/i);
      await redis.ensureUp();
      expect(await ping(redis.url)).toBe('PONG');
      await redis.kill('SIGKILL');
      expect(redis.running).toBe(false);
      await redis.ensureUp();
      // Back on the same port, with what the AOF held.
      expect(await ping(redis.url)).toBe('PONG');
      const again = new Redis(redis.url, { maxRetriesPerRequest: 0 });
      expect(await again.get('k')).toBe('v');
      again.disconnect();
    } finally {
      client.disconnect();
    }
  });
});
