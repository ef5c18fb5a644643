'use strict';
// Process, Redis and statistics helpers shared by the scenarios. Plain JS: the bench runs the
// built apps, and loads the library's TypeScript only through ours.js.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const Redis = require('ioredis');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = process.env.BENCH_DIST_DIR || path.join(ROOT, '.dist-bench');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The OS picks a free loopback port; we close and reuse it (the tiny race is fine here). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(check, timeoutMs, what) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A private redis-server on a free port in a temp dir; no persistence unless `aof` is set. */
async function startRedis({ aof = false } = {}) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskq-bench-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  args.push('--appendonly', aof ? 'yes' : 'no');
  if (aof) args.push('--appendfsync', 'everysec');
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  await waitFor(
    async () => {
      if (client.status !== 'ready') await client.connect().catch(() => undefined);
      return (await client.ping()) === 'PONG';
    },
    10_000,
    'redis-server',
  );
  return {
    port,
    url,
    client,
    pid: proc.pid,
    async stop() {
      client.disconnect();
      proc.kill('SIGTERM');
      await new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', resolve)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** INFO section as a map of numbers/strings. */
async function info(client, section) {
  const text = await client.info(section);
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

async function redisCpuMs(client) {
  const cpu = await info(client, 'cpu');
  return (Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys)) * 1000;
}

async function usedMemory(client) {
  return Number((await info(client, 'memory')).used_memory);
}

const CLK_TCK = 100;
/** CPU time (user+sys, ms) of a process, from /proc. */
function procCpuMs(pid) {
  return statCpuMs(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime (ms) of a /proc/<pid>/stat line; the fields after the command name, which may hold spaces. */
function statCpuMs(stat) {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/**
 * CPU time (user+sys, ms) of every live process named `comm` (e.g. postgres: the server and its
 * backends). A process that exits between two readings takes its share with it.
 */
function commCpuMs(comm) {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === comm) total += statCpuMs(stat);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Peak resident set (VmHWM) of a process, in bytes. */
function procPeakRss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)[1]);
  return kb * 1024;
}

/**
 * Starts a node process (a child whose stderr tail is kept). taskq's built apps run with --enable-source-maps, as they do in the image and with npm
 * start (`sourceMaps: false` to measure without; scenarios/source-maps.js).
 */
function spawnNode(script, { env = {}, args = [], nodeArgs = [], sourceMaps = script.startsWith(DIST) } = {}) {
  const proc = spawn(
    process.execPath,
    [...(sourceMaps ? ['--enable-source-maps'] : []), ...nodeArgs, script, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  proc.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  proc.stderrTail = () => stderr;
  return proc;
}

async function stopProcess(proc, timeoutMs = 10_000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  await proc.exited;
  clearTimeout(timer);
}

async function waitForHttp(url, timeoutMs = 20_000) {
  await waitFor(
    async () => {
      const res = await fetch(url);
      return res.status < 500;
    },
    timeoutMs,
    url,
  );
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percentile(sortedValues, p) {
  if (!sortedValues.length) return NaN;
  const i = Math.min(sortedValues.length - 1, Math.max(0, Math.ceil((p / 100) * sortedValues.length) - 1));
  return sortedValues[i];
}

/** Median and range of each side, and of the per-pair ratio ours/anchor. */
function summarize(ours, anchor) {
  const ratios = ours.map((value, i) => value / anchor[i]);
  return {
    ours: { median: median(ours), min: Math.min(...ours), max: Math.max(...ours), runs: ours },
    anchor: { median: median(anchor), min: Math.min(...anchor), max: Math.max(...anchor), runs: anchor },
    ratio: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
  };
}

module.exports = {
  ROOT,
  DIST,
  sleep,
  freePort,
  waitFor,
  startRedis,
  info,
  redisCpuMs,
  usedMemory,
  procCpuMs,
  commCpuMs,
  procPeakRss,
  spawnNode,
  stopProcess,
  waitForHttp,
  median,
  percentile,
  summarize,
};
