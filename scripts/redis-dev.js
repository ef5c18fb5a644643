/**
 * Finds a Redis for `npm start` and `npm test`: REDIS_URL when something answers there,
 * otherwise a local `redis-server` started for this session (on a free port for tests;
 * on the default port with AOF under .data/ for `npm start`).
 */
const { spawn, spawnSync } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const DEFAULT_URL = 'redis://127.0.0.1:6379';

function answers(url, timeoutMs = 1000) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(/^\+PONG|^-NOAUTH/.test(data.toString())));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function hasRedisServer() {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function redisUrlOrThrowaway({ persistent }) {
  const url = process.env.REDIS_URL || DEFAULT_URL;
  if (await answers(url)) return { url, started: false, stop: async () => {} };
  if (!hasRedisServer()) {
    throw new Error(
      `Nothing answers at ${url} and redis-server is not installed.\n` +
        `Install it (apt-get install redis-server), start one (docker compose up redis), or set REDIS_URL.`,
    );
  }
  const port = persistent ? Number(new URL(url).port || 6379) : await freePort();
  const dir = persistent ? path.resolve('.data/redis') : fs.mkdtempSync(path.join(os.tmpdir(), 'taskq-redis-'));
  fs.mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', persistent ? 'yes' : 'no');
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const startedUrl = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await answers(startedUrl, 300))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  console.error(`[taskq] started redis-server on ${startedUrl} (data in ${dir}${persistent ? ', AOF on' : ''})`);
  return {
    url: startedUrl,
    started: true,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      if (!persistent) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { redisUrlOrThrowaway, answers, freePort };
