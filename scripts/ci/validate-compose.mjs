#!/usr/bin/env node
// Checks the resolved compose file (output of `docker-compose config`) against
// what the deployment rules (docs/deploy/README.md) and the apps' contract ask of it; `docker-compose config -q` only
// proves the file is well-formed.
//
//   docker-compose config > resolved.yml && node scripts/ci/validate-compose.mjs resolved.yml
//   docker-compose -f docker-compose.yml -f deploy/docker/compose.cluster.yml --profile cluster config > resolved.yml &&
//     node scripts/ci/validate-compose.mjs resolved.yml --cluster     # the apps on the Redis Cluster
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const compose = YAML.parse(fs.readFileSync(process.argv[2], 'utf8'));
const clusterMode = process.argv.includes('--cluster');
// The file as written (before interpolation): where a value must come from the environment.
const raw = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const prom = YAML.parse(fs.readFileSync(path.join(ROOT, 'prometheus.yml'), 'utf8'));
const errors = [];
const expect = (cond, msg) => cond || errors.push(msg);
const svc = compose.services || {};
/** Published ports as { hostIp, published (first host port), range, target }. */
const bindings = (s) =>
  (s.ports || []).map((p) => {
    if (typeof p === 'object') {
      const [first, last] = String(p.published).split('-');
      return { hostIp: p.host_ip ?? '', published: Number(first), range: last !== undefined, target: Number(p.target) };
    }
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.pop());
    const host = parts.pop() ?? '';
    const [first, last] = host.split('-');
    return { hostIp: parts.join(':'), published: Number(first), range: last !== undefined, target };
  });
const published = (s) => bindings(s).map((b) => b.published);
const bytes = (v) => {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(String(v ?? '').trim());
  return m ? Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()] : NaN;
};
const healthyDep = (s, dep) => s.depends_on?.[dep]?.condition === 'service_healthy';
const seconds = (d) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(d ?? ''));
  return m ? Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] || 's'] : NaN;
};

for (const name of ['redis', 'api', 'worker', 'prometheus', 'grafana']) expect(svc[name], `service ${name} is missing`);
const { redis = {}, api = {}, worker = {}, prometheus = {}, grafana = {} } = svc;

// redis: AOF, named volume, healthcheck, ACL with a password, maxmemory below its memory limit
const redisCmd = [].concat(redis.command || []).join(' ');
expect(/--maxmemory-policy noeviction/.test(redisCmd), 'redis: maxmemory-policy is not noeviction');
const maxmemory = bytes(/--maxmemory (\S+)/.exec(redisCmd)?.[1]);
expect(
  maxmemory > 0 && maxmemory < bytes(redis.mem_limit),
  `redis: --maxmemory (${maxmemory}) must be set below mem_limit (${redis.mem_limit})`,
);
expect(
  []
    .concat(redis.entrypoint || [])
    .join(' ')
    .includes('taskq-redis-start.sh') && redis.environment?.REDIS_PASSWORD,
  'redis: must start through deploy/k8s/base/redis-start.sh (ACL user, default user off) with REDIS_PASSWORD',
);
expect(/--appendonly yes/.test(redisCmd), 'redis: AOF is not on (--appendonly yes)');
expect(/--appendfsync (everysec|always)/.test(redisCmd), 'redis: appendfsync is not everysec or always');
expect(
  (redis.volumes || []).some(
    (v) =>
      /^[\w-]+:\/data/.test(typeof v === 'string' ? v : `${v.source}:${v.target}`) &&
      compose.volumes?.[String(v).split(':')[0]] !== undefined,
  ),
  'redis: /data is not on a named volume',
);
expect(redis.healthcheck?.test, 'redis: no healthcheck');

// Every published port is on the loopback address only.
for (const [name, service] of Object.entries(svc)) {
  for (const b of bindings(service)) {
    expect(
      b.hostIp === '127.0.0.1',
      `${name}: port ${b.published} must be bound to 127.0.0.1 (host_ip is "${b.hostIp}")`,
    );
  }
}
// Images pinned by digest (the one built here aside).
for (const [name, service] of Object.entries(svc)) {
  if (service.build) continue;
  expect(/@sha256:[0-9a-f]{64}$/.test(service.image ?? ''), `${name}: image ${service.image} is not pinned by digest`);
}
// The apps log in to Redis as the ACL user; the api requires credentials.
for (const [name, service] of [
  ['api', api],
  ['worker', worker],
]) {
  // On the cluster profile the nodes take the password as the default user's (requirepass).
  expect(
    (clusterMode || service.environment?.REDIS_USERNAME) && service.environment?.REDIS_PASSWORD,
    `${name}: REDIS_USERNAME and REDIS_PASSWORD must be set`,
  );
}
expect((api.environment?.AUTH_MODE ?? 'api-key') !== 'none', 'api: AUTH_MODE must not be none');
expect(
  /BOOTSTRAP_ADMIN_KEY: \$\{BOOTSTRAP_ADMIN_KEY:\?/.test(raw),
  'api: BOOTSTRAP_ADMIN_KEY must come from the environment (.env), required',
);

// api: 8080 + 9100 published, waits for a healthy redis
expect(published(api).includes(8080) && published(api).includes(9100), 'api: ports 8080 and 9100 must be published');
expect(healthyDep(api, 'redis'), 'api: depends_on redis without condition service_healthy');
expect(api.healthcheck?.test, 'api: no healthcheck');
expect(
  String(api.environment?.PORT ?? 8080) === '8080' && String(api.environment?.METRICS_PORT ?? 9100) === '9100',
  'api: PORT/METRICS_PORT differ from 8080/9100',
);

// worker: scalable (a host port range, never one fixed port), metrics 9101, graceful stop
expect(
  bindings(worker).some((b) => b.target === 9101 && b.range) && bindings(worker).every((b) => b.range),
  'worker: publish 9101 from a host port range (127.0.0.1:9101-9110:9101), so --scale worker=N does not clash',
);
expect(!worker.container_name, 'worker: container_name prevents scaling');
expect(healthyDep(worker, 'redis'), 'worker: depends_on redis without condition service_healthy');
expect(worker.healthcheck?.test, 'worker: no healthcheck');
const workerMetrics = Number(worker.environment?.METRICS_PORT ?? 9101);
const grace = Number(worker.environment?.SHUTDOWN_GRACE_MS ?? 15000) / 1000;
expect(
  seconds(worker.stop_grace_period ?? '10s') > grace,
  `worker: stop_grace_period must exceed SHUTDOWN_GRACE_MS (${grace}s)`,
);

// prometheus: 9090, config mounted, finds every worker replica by DNS, no lifecycle API
expect(published(prometheus).includes(9090), 'prometheus: port 9090 is not published');
expect(
  ![].concat(prometheus.command || []).some((arg) => String(arg).includes('web.enable-lifecycle')),
  'prometheus: --web.enable-lifecycle lets anyone who reaches :9090 shut it down; leave it off',
);
expect(
  (prometheus.volumes || []).some((v) => String(typeof v === 'string' ? v : v.source).includes('prometheus.yml')),
  'prometheus: prometheus.yml is not mounted',
);
const job = (n) => (prom.scrape_configs || []).find((j) => j.job_name === n);
const dnsPort = (j, name) => (j?.dns_sd_configs || []).find((d) => (d.names || []).includes(name))?.port;
expect(
  dnsPort(job('worker'), 'worker') === workerMetrics,
  `prometheus.yml: job "worker" must use dns_sd_configs on "worker" port ${workerMetrics}`,
);
expect(
  dnsPort(job('api'), 'api') === Number(api.environment?.METRICS_PORT ?? 9100),
  'prometheus.yml: job "api" must find api replicas on METRICS_PORT',
);

// postgres (the result store): named volume, healthcheck; the one-shot migrate service applies the
// schema before api and worker start, and both use the postgres backend.
const { postgres = {}, migrate = {} } = svc;
expect(svc.postgres, 'service postgres is missing');
expect(
  (postgres.volumes || []).some((v) => {
    const spec = typeof v === 'string' ? v : `${v.source}:${v.target}`;
    return /^[\w-]+:\/var\/lib\/postgresql\/data/.test(spec) && compose.volumes?.[spec.split(':')[0]] !== undefined;
  }),
  'postgres: /var/lib/postgresql/data is not on a named volume',
);
expect(postgres.healthcheck?.test, 'postgres: no healthcheck');
expect(svc.migrate, 'service migrate is missing');
const migrateCmd = [].concat(migrate.command || []).join(' ');
expect(/node-pg-migrate(\.js)? up/.test(migrateCmd), 'migrate: does not run node-pg-migrate up');
expect(String(migrate.restart ?? 'no') === 'no', 'migrate: a one-shot service must not restart');
expect(healthyDep(migrate, 'postgres'), 'migrate: depends_on postgres without condition service_healthy');
expect(
  /POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD:\?/.test(raw) &&
    migrate.environment?.PGPASSWORD === postgres.environment?.POSTGRES_PASSWORD,
  'postgres: POSTGRES_PASSWORD must come from the environment (.env), required, and migrate must use it',
);
for (const [name, s] of [
  ['api', api],
  ['worker', worker],
]) {
  expect(
    s.depends_on?.migrate?.condition === 'service_completed_successfully',
    `${name}: depends_on migrate without condition service_completed_successfully`,
  );
  expect(s.environment?.RESULTS_BACKEND === 'postgres', `${name}: RESULTS_BACKEND is not postgres`);
  expect(
    /^postgres(ql)?:\/\/[^@]+@postgres:5432\//.test(String(s.environment?.DATABASE_URL)),
    `${name}: DATABASE_URL does not point at the postgres service`,
  );
  expect(
    s.environment?.DATABASE_URL === migrate.environment?.DATABASE_URL,
    `${name}: DATABASE_URL differs from the migrate service's`,
  );
  expect(
    s.environment?.DATABASE_PASSWORD && s.environment.DATABASE_PASSWORD === postgres.environment?.POSTGRES_PASSWORD,
    `${name}: DATABASE_PASSWORD must be postgres' POSTGRES_PASSWORD`,
  );
}

// grafana: 3000, admin password from the environment (admin only as the local default), provisioned
expect(published(grafana).includes(3000), 'grafana: port 3000 is not published');
expect(
  grafana.environment?.GF_SECURITY_ADMIN_USER === 'admin' &&
    /GF_SECURITY_ADMIN_PASSWORD: \$\{GRAFANA_ADMIN_PASSWORD:-admin\}/.test(raw),
  'grafana: GF_SECURITY_ADMIN_PASSWORD must come from GRAFANA_ADMIN_PASSWORD (admin only as the default)',
);
expect(
  (grafana.volumes || []).some((v) =>
    /grafana\/provisioning:\/etc\/grafana\/provisioning/.test(
      String(typeof v === 'string' ? v : `${v.source}:${v.target}`),
    ),
  ),
  'grafana: grafana/provisioning is not mounted',
);

// Env keys handed to the apps must be read somewhere in apps/ or libs/ (typos).
const srcText = [];
const walk = (dir) => {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.ts$/.test(e.name) && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(e.name))
      srcText.push(fs.readFileSync(p, 'utf8'));
  }
};
walk(path.join(ROOT, 'apps'));
walk(path.join(ROOT, 'libs'));
const src = srcText.join('\n');
if (src) {
  for (const name of ['api', 'worker']) {
    for (const key of Object.keys(svc[name]?.environment || {})) {
      // <NAME>_FILE is read for every NAME the apps read (libs/config validateEnv).
      if (!new RegExp(`\\b${key.replace(/_FILE$/, '')}\\b`).test(src))
        errors.push(`${name}: environment ${key} is read nowhere in apps/ or libs/`);
    }
  }
}

// The `cluster` profile: 6 nodes from one config (cluster mode, AOF, noeviction), each announcing its
// own service name, created as 3 masters + 3 replicas; with deploy/docker/compose.cluster.yml the apps use
// exactly that cluster and nothing else.
const nodes = Object.keys(svc).filter((name) => /^redis-node-\d+$/.test(name));
expect(nodes.length === 6, `cluster profile: ${nodes.length} redis-node-N services, expected 6`);
const nodeConf = fs.readFileSync(path.join(ROOT, 'deploy/docker/redis-cluster-node.conf'), 'utf8');
for (const line of ['cluster-enabled yes', 'appendonly yes', 'maxmemory-policy noeviction', 'dir /data']) {
  expect(nodeConf.split('\n').includes(line), `deploy/docker/redis-cluster-node.conf: no "${line}"`);
}
for (const name of nodes) {
  const node = svc[name];
  const cmd = [].concat(node.command || []).join(' ');
  expect((node.profiles || []).includes('cluster'), `${name}: not in the cluster profile`);
  expect(
    /node\.conf/.test(cmd) && cmd.includes(`--cluster-announce-hostname ${name}`),
    `${name}: command must load node.conf and announce ${name}`,
  );
  expect(
    (node.volumes || []).some((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`).includes(':/data')),
    `${name}: /data is not on a volume`,
  );
  expect(node.healthcheck?.test, `${name}: no healthcheck`);
}
const init = svc['redis-cluster-init'] || {};
const initCmd = [].concat(init.command || []).join(' ');
expect(
  /--cluster create/.test(initCmd) &&
    /--cluster-replicas 1/.test(initCmd) &&
    nodes.every((n) => initCmd.includes(`${n}:6379`)),
  'redis-cluster-init: must run redis-cli --cluster create over every node with --cluster-replicas 1',
);
expect(
  nodes.every((n) => init.depends_on?.[n]?.condition === 'service_healthy'),
  'redis-cluster-init: must wait for every node to be healthy',
);
for (const name of ['api', 'worker']) {
  const env = svc[name]?.environment || {};
  const seeds = String(env.REDIS_CLUSTER_NODES ?? '');
  if (clusterMode) {
    expect(!env.REDIS_URL, `${name}: REDIS_URL must be empty with the cluster (one mode at a time)`);
    expect(
      seeds.split(',').sort().join(',') ===
        nodes
          .map((n) => `${n}:6379`)
          .sort()
          .join(','),
      `${name}: REDIS_CLUSTER_NODES must list every cluster node, got "${seeds}"`,
    );
  } else {
    expect(!seeds && env.REDIS_URL === 'redis://redis:6379', `${name}: by default the apps use the single redis`);
  }
}

if (errors.length) {
  for (const e of errors) console.error(`  - ${e}`);
  process.exit(1);
}
console.log(
  clusterMode
    ? 'OK   docker-compose.yml --profile cluster: 6 cluster nodes (AOF, noeviction, hostnames, ACL), created as 3 masters + 3 replicas, api and worker on REDIS_CLUSTER_NODES'
    : 'OK   docker-compose.yml: redis AOF + volume + healthcheck + ACL + maxmemory < mem_limit, postgres volume + healthcheck + one-shot migrate, ports on 127.0.0.1, images by digest, api 8080/9100 with keys, worker 9101 range, prometheus DNS SD without lifecycle API, grafana password from env',
);
