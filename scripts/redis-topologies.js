#!/usr/bin/env node
'use strict';
/**
 * Real Redis topologies for tests, CI and the bench, from plain `redis-server` processes (no Docker),
 * each on free loopback ports in its own temp dir:
 *
 *   cluster   N masters + N×R replicas (`redis-server --cluster-enabled yes` and
 *             `redis-cli --cluster create ... --cluster-replicas R --cluster-yes`); no persistence.
 *             Ready when every node says `cluster_state:ok` and knows every other node, and every
 *             replica's link to its master is up.
 *   sentinel  one master, one replica and 3 sentinels (`redis-server <conf> --sentinel`, a generated
 *             config); ready when every sentinel names the master, sees the replica and knows the
 *             other sentinels (so a quorum can fail it over).
 *
 * As a library (scripts/test.js, test/faults, bench): `startCluster(options)`, `startSentinel(options)`;
 * each returns a handle with `testEnv` (TEST_REDIS_* for the parameterised suites), `appEnv` (the apps'
 * REDIS_* variables), `kill(port)`, `restart(port)` and `stop()`. Types: redis-topologies.d.ts.
 *
 * From a shell: `node scripts/redis-topologies.js cluster|sentinel` starts one, prints the env to use
 * and keeps it until Ctrl-C, e.g.
 *   node scripts/redis-topologies.js cluster   # then, in another shell, the printed exports and
 *   npm run test:int                            # the same suites against the cluster
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const Redis = require('ioredis');

const HOST = '127.0.0.1';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every redis-server this process started and has not stopped: killed if the process exits first. */
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function ephemeralLow() {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * A port free now, below the kernel's ephemeral range (no outgoing connection takes it as its local
 * port, also not while a killed node restarts on it) and with port + 10000 free too, unused here.
 * Check-then-use: a lost race shows as a failed bind, and the node is started on new ports.
 */
async function freePort() {
  const high = Math.min(ephemeralLow(), 55_000);
  for (let tries = 0; tries < 200; tries++) {
    const port = 10_000 + Math.floor(Math.random() * (high - 10_000));
    if (await portIsFree(port)) return port;
  }
  throw new Error('no free port found');
}

async function waitFor(check, { timeoutMs, what, intervalMs = 50 }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      if (error && error.fatal) throw error;
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** One command on a short-lived connection (the node may be gone: then it throws). */
async function ask(port, ...command) {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(...command);
  } finally {
    client.disconnect();
  }
}

/** `INFO <section>` as an object. */
async function info(port, section) {
  const text = String(await ask(port, 'INFO', section));
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

/**
 * One redis-server process: a port, a dir, its arguments. `start()` waits until it answers PING and
 * fails at once with its own log when it exits instead; `kill()` and `start()` again restart it on the
 * same port and dir (a cluster node keeps its identity in nodes.conf there).
 */
class Server {
  constructor({ name, dir, args, ports }) {
    this.name = name;
    this.dir = dir;
    this.args = args;
    /** { port, bus? } */
    this.ports = ports;
    this.log = [];
    this.child = undefined;
  }

  get port() {
    return this.ports.port;
  }

  get pid() {
    return this.child && this.child.pid;
  }

  get running() {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start() {
    fs.mkdirSync(this.dir, { recursive: true });
    this.log.length = 0;
    const child = spawn('redis-server', this.args(this.ports), { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    const keep = (chunk) => {
      this.log.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let exited;
    child.once('exit', (code, signal) => {
      live.delete(child);
      exited = `code ${code}, signal ${signal}`;
    });
    await waitFor(
      async () => {
        if (exited) {
          const error = new Error(
            `${this.name} on ${this.port} exited (${exited}):\n${this.log.slice(-10).join('\n')}`,
          );
          error.fatal = true;
          error.portTaken = /Address already in use|EADDRINUSE/i.test(this.log.join('\n'));
          throw error;
        }
        return (await ask(this.port, 'PING')) === 'PONG';
      },
      { timeoutMs: 30_000, what: `${this.name} on ${this.port} to answer PING` },
    );
  }

  async kill(signal = 'SIGKILL') {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

/** Starts `make(ports)` on fresh free ports, again on new ones when it lost a bind race (first start only). */
async function startFresh(make, { bus = false } = {}) {
  for (let attempt = 1; ; attempt++) {
    const ports = { port: await freePort() };
    if (bus) ports.bus = await freePort();
    const server = make(ports);
    try {
      await server.start();
      return server;
    } catch (error) {
      if (!(error.portTaken && attempt < 5)) throw error;
    }
  }
}

const baseArgs = (dir, port) => [
  '--port',
  String(port),
  '--bind',
  HOST,
  '--dir',
  dir,
  '--save',
  '',
  '--appendonly',
  'no',
];

function tempRoot(kind) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `taskq-${kind}-`));
}

function stopAll(servers, root) {
  return Promise.all(servers.map((server) => server.kill('SIGTERM'))).then(() =>
    fs.rmSync(root, { recursive: true, force: true }),
  );
}

function requireRedisCli() {
  if (spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('redis-cli is not installed (Debian: apt-get install redis-server, which pulls in redis-tools)');
  }
}

/** CLUSTER NODES of a node, parsed. */
async function clusterNodes(port) {
  const text = String(await ask(port, 'CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , link, ...slots] = line.split(' ');
      const nodePort = Number(address.split('@')[0].split(':').pop());
      const flagList = flags.split(',');
      return {
        id,
        port: nodePort,
        role: flagList.includes('master') ? 'master' : 'replica',
        masterId: masterId === '-' ? null : masterId,
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        connected: link === 'connected',
        myself: flagList.includes('myself'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => s.split('-').map(Number))
          .map(([from, to]) => [from, to ?? from]),
      };
    });
}

/**
 * A Redis Cluster of `masters` masters with `replicas` replicas each, on loopback.
 * `nodeTimeoutMs` is cluster-node-timeout: how long a silent master is waited for before its replica
 * takes over (a failover takes about that plus an election, ~1 s).
 */
async function startCluster({ masters = 3, replicas = 1, nodeTimeoutMs = 5000, extraArgs = [] } = {}) {
  requireRedisCli();
  const root = tempRoot('cluster');
  const servers = [];
  const total = masters * (1 + replicas);
  try {
    for (let i = 0; i < total; i++) {
      const dir = path.join(root, `node-${i}`);
      servers.push(
        await startFresh(
          (ports) =>
            new Server({
              name: `cluster node ${i}`,
              dir,
              ports,
              args: ({ port, bus }) => [
                ...baseArgs(dir, port),
                '--cluster-enabled',
                'yes',
                '--cluster-config-file',
                'nodes.conf',
                '--cluster-port',
                String(bus),
                '--cluster-node-timeout',
                String(nodeTimeoutMs),
                // A node learns its own address from a peer; a 1-master cluster has none and would
                // announce an empty host in CLUSTER SLOTS.
                '--cluster-announce-ip',
                HOST,
                ...extraArgs,
              ],
            }),
          { bus: true },
        ),
      );
    }
    if (masters >= 3) {
      const create = spawnSync(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...servers.map((s) => `${HOST}:${s.port}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (create.status !== 0) {
        throw new Error(`redis-cli --cluster create failed (${create.status}):\n${create.stdout}\n${create.stderr}`);
      }
    } else {
      // redis-cli refuses fewer than 3 masters; a smaller cluster (the bench's 1-master baseline) is
      // assembled by hand: the nodes meet, the slots are split evenly, no replicas.
      if (replicas) throw new Error('a cluster of fewer than 3 masters is built without replicas');
      for (const server of servers.slice(1))
        await ask(servers[0].port, 'CLUSTER', 'MEET', HOST, server.port, server.ports.bus);
      servers.forEach(
        (server, i) =>
          (server.slotRange = [Math.floor((16384 * i) / masters), Math.floor((16384 * (i + 1)) / masters) - 1]),
      );
      for (const server of servers) await ask(server.port, 'CLUSTER', 'ADDSLOTSRANGE', ...server.slotRange);
    }
    const cluster = new ClusterHandle(root, servers, { masters, replicas });
    await cluster.waitHealthy({ timeoutMs: 60_000 });
    return cluster;
  } catch (error) {
    await stopAll(servers, root);
    throw error;
  }
}

class ClusterHandle {
  constructor(root, servers, shape) {
    this.kind = 'cluster';
    this.root = root;
    this.servers = servers;
    this.shape = shape;
  }

  /** Every node's port (masters and replicas, as started). */
  get ports() {
    return this.servers.map((s) => s.port);
  }

  /** `host:port,...` of every node: the seed list. */
  get nodesList() {
    return this.servers.map((s) => `${HOST}:${s.port}`).join(',');
  }

  get appEnv() {
    return { REDIS_CLUSTER_NODES: this.nodesList };
  }

  get testEnv() {
    return { TEST_REDIS_MODE: 'cluster', TEST_REDIS_CLUSTER_NODES: this.nodesList };
  }

  server(port) {
    const server = this.servers.find((s) => s.port === port);
    if (!server) throw new Error(`no cluster node on port ${port}`);
    return server;
  }

  /** The cluster as a running node sees it (CLUSTER NODES), failed nodes included. */
  async topology() {
    let last;
    for (const server of this.servers.filter((s) => s.running)) {
      try {
        return await clusterNodes(server.port);
      } catch (error) {
        last = error;
      }
    }
    throw last ?? new Error('no cluster node is running');
  }

  /** Masters that are up, with their slot ranges, as every running node agrees. */
  async masters() {
    return (await this.topology()).filter((n) => n.role === 'master' && !n.failed && n.slots.length);
  }

  /**
   * Healthy: every running node says cluster_state:ok and sees `masters` masters up (none failing),
   * and (unless `replicas: false`) every master has `replicas` replicas whose link is up.
   */
  async waitHealthy({ timeoutMs = 30_000, replicas = true } = {}) {
    const running = () => this.servers.filter((s) => s.running);
    await waitFor(
      async () => {
        for (const server of running()) {
          const state = String(await ask(server.port, 'CLUSTER', 'INFO'));
          if (!/cluster_state:ok/.test(state))
            throw new Error(`node ${server.port}: ${/cluster_state:\w+/.exec(state)}`);
          const nodes = await clusterNodes(server.port);
          const up = nodes.filter((n) => n.role === 'master' && !n.failed && n.slots.length);
          if (up.length !== this.shape.masters) throw new Error(`node ${server.port} sees ${up.length} masters up`);
          if (nodes.some((n) => n.failed && this.servers.some((s) => s.running && s.port === n.port))) {
            throw new Error(`node ${server.port} still flags a running node as failing`);
          }
        }
        if (replicas) {
          const nodes = await clusterNodes(running()[0].port);
          for (const master of nodes.filter((n) => n.role === 'master' && n.slots.length)) {
            const linked = nodes.filter((n) => n.masterId === master.id && !n.failed);
            if (linked.length < this.shape.replicas)
              throw new Error(`master ${master.port} has ${linked.length} replicas`);
            for (const replica of linked) {
              const repl = await info(replica.port, 'replication');
              if (repl.master_link_status !== 'up')
                throw new Error(`replica ${replica.port} link ${repl.master_link_status}`);
            }
          }
        }
        return true;
      },
      { timeoutMs, what: 'the cluster to be healthy', intervalMs: 100 },
    );
  }

  /** kill -9 (by default) one node. */
  kill(port, signal = 'SIGKILL') {
    return this.server(port).kill(signal);
  }

  /** Starts a killed node again on its port and dir: it rejoins (a replaced master comes back as a replica). */
  restart(port) {
    return this.server(port).start();
  }

  stop() {
    return stopAll(this.servers, this.root);
  }
}

/**
 * Sentinel: one master, one replica, `sentinels` sentinels with quorum 2. `downAfterMs` is
 * down-after-milliseconds: how long a silent master is waited for before the sentinels fail it over.
 */
async function startSentinel({ name = 'taskq', sentinels = 3, downAfterMs = 5000, failoverTimeoutMs = 10_000 } = {}) {
  const root = tempRoot('sentinel');
  const servers = [];
  try {
    const dataServer = (role, masterPort) => (ports) => {
      const dir = path.join(root, role);
      return new Server({
        name: `sentinel group ${role}`,
        dir,
        ports,
        args: ({ port }) => [...baseArgs(dir, port), ...(masterPort ? ['--replicaof', HOST, String(masterPort)] : [])],
      });
    };
    const master = await startFresh(dataServer('master'));
    servers.push(master);
    const replica = await startFresh(dataServer('replica', master.port));
    servers.push(replica);
    await waitFor(async () => (await info(replica.port, 'replication')).master_link_status === 'up', {
      timeoutMs: 30_000,
      what: 'the replica to sync',
    });
    const watchers = [];
    for (let i = 0; i < sentinels; i++) {
      const dir = path.join(root, `sentinel-${i}`);
      const sentinel = await startFresh(
        (ports) =>
          new Server({
            name: `sentinel ${i}`,
            dir,
            ports,
            args: ({ port }) => {
              // Sentinel rewrites its config file (it must be writable), so it is written afresh per start.
              fs.mkdirSync(dir, { recursive: true });
              const conf = path.join(dir, 'sentinel.conf');
              if (!fs.existsSync(conf)) {
                fs.writeFileSync(
                  conf,
                  [
                    `port ${port}`,
                    `bind ${HOST}`,
                    `dir ${dir}`,
                    `sentinel monitor ${name} ${HOST} ${master.port} 2`,
                    `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
                    `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
                    `sentinel parallel-syncs ${name} 1`,
                    '',
                  ].join('\n'),
                );
              }
              return [conf, '--sentinel'];
            },
          }),
      );
      servers.push(sentinel);
      watchers.push(sentinel);
    }
    const group = new SentinelHandle(root, name, master, replica, watchers);
    await group.waitHealthy({ timeoutMs: 60_000 });
    return group;
  } catch (error) {
    await stopAll(servers, root);
    throw error;
  }
}

class SentinelHandle {
  constructor(root, name, master, replica, sentinels) {
    this.kind = 'sentinel';
    this.root = root;
    this.name = name;
    /** The data nodes, as started: [0] began as master, [1] as its replica. */
    this.dataServers = [master, replica];
    this.sentinels = sentinels;
  }

  get servers() {
    return [...this.dataServers, ...this.sentinels];
  }

  get sentinelList() {
    return this.sentinels.map((s) => `${HOST}:${s.port}`).join(',');
  }

  get appEnv() {
    return { REDIS_SENTINELS: this.sentinelList, REDIS_SENTINEL_NAME: this.name };
  }

  get testEnv() {
    return {
      TEST_REDIS_MODE: 'sentinel',
      TEST_REDIS_SENTINELS: this.sentinelList,
      TEST_REDIS_SENTINEL_NAME: this.name,
    };
  }

  /** The master's port as a running sentinel names it. */
  async masterPort() {
    let last;
    for (const sentinel of this.sentinels.filter((s) => s.running)) {
      try {
        const [, port] = await ask(sentinel.port, 'SENTINEL', 'get-master-addr-by-name', this.name);
        return Number(port);
      } catch (error) {
        last = error;
      }
    }
    throw last ?? new Error('no sentinel is running');
  }

  /**
   * Healthy: every sentinel names the same running master, which has the other running data node as
   * a connected replica, and knows the other sentinels (a failover needs a quorum of them).
   */
  async waitHealthy({ timeoutMs = 30_000, replica = true } = {}) {
    await waitFor(
      async () => {
        const ports = new Set();
        for (const sentinel of this.sentinels) {
          const [, port] = await ask(sentinel.port, 'SENTINEL', 'get-master-addr-by-name', this.name);
          ports.add(Number(port));
          const known = await ask(sentinel.port, 'SENTINEL', 'sentinels', this.name);
          if (known.length < this.sentinels.length - 1)
            throw new Error(`sentinel ${sentinel.port} knows ${known.length} others`);
        }
        if (ports.size !== 1) throw new Error(`sentinels disagree on the master: ${[...ports].join(', ')}`);
        const [masterPort] = ports;
        const repl = await info(masterPort, 'replication');
        if (repl.role !== 'master') throw new Error(`${masterPort} is ${repl.role}`);
        if (replica) {
          const others = this.dataServers.filter((s) => s.running && s.port !== masterPort);
          for (const other of others) {
            if ((await info(other.port, 'replication')).master_link_status !== 'up') {
              throw new Error(`replica ${other.port} is not linked`);
            }
          }
          if (Number(repl.connected_slaves) < others.length)
            throw new Error(`master has ${repl.connected_slaves} replicas`);
        }
        return true;
      },
      { timeoutMs, what: 'the sentinel group to be healthy', intervalMs: 100 },
    );
  }

  server(port) {
    const server = this.servers.find((s) => s.port === port);
    if (!server) throw new Error(`no server of the sentinel group on port ${port}`);
    return server;
  }

  kill(port, signal = 'SIGKILL') {
    return this.server(port).kill(signal);
  }

  /** Starts a killed data node again; the sentinels turn an old master into a replica of the new one. */
  restart(port) {
    return this.server(port).start();
  }

  stop() {
    return stopAll(this.servers, this.root);
  }
}

module.exports = { startCluster, startSentinel, clusterNodes, freePort, ask };

if (require.main === module) {
  const kind = process.argv[2];
  const start = { cluster: startCluster, sentinel: startSentinel }[kind];
  if (!start) {
    console.error('usage: node scripts/redis-topologies.js cluster|sentinel');
    process.exit(2);
  }
  const began = Date.now();
  start().then(
    (topology) => {
      console.log(
        `# ${kind} up in ${((Date.now() - began) / 1000).toFixed(1)} s (data under ${topology.root}); Ctrl-C stops it`,
      );
      for (const [key, value] of Object.entries({ ...topology.testEnv, ...topology.appEnv })) {
        console.log(`export ${key}=${value}`);
      }
      const stop = () => topology.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
