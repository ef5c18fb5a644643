#!/usr/bin/env node
// Validates rendered Kubernetes manifests offline, and checks them against the
// apps' contract (ports, probe paths, shutdown grace, security settings).
//
//   kubectl kustomize deploy/k8s/overlays/example > out.yaml
//   node scripts/ci/validate-k8s.mjs out.yaml [more.yaml ...]
//
// 1. Schema: every object against the Kubernetes OpenAPI schemas compiled into
//    `kubernetes-models` (types, required fields, enums, formats) and the
//    Prometheus Operator CRD schemas of `@kubernetes-models/prometheus-operator`.
//    An apiVersion/kind neither knows fails the check.
// 2. Unknown fields: those schemas accept extra keys, and a typo ("readinesProbe")
//    would be silently dropped by the API server; every field of a built-in kind is
//    therefore also looked up in the type maps of `@kubernetes/client-node`.
// 3. Contract: see checkContract() below (probes, ports, grace, security; with the postgres
//    result store, DATABASE_URL and a migrate init container).
// Exits 1 on any finding. Needs `npm ci --prefix scripts/ci`.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import YAML from 'yaml';
import * as k8s from '@kubernetes/client-node';

const require = createRequire(import.meta.url);
const errors = [];
const fail = (obj, msg) => errors.push(`${obj ? `${obj.kind}/${obj.metadata?.name}: ` : ''}${msg}`);

// ------------------------------------------------------------------ 1. schema
function modelClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const candidates = group.endsWith('coreos.com')
    ? [`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`]
    : [`kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`];
  for (const id of candidates) {
    try {
      return require(id)[kind];
    } catch {
      /* next */
    }
  }
  return null;
}

function validateSchema(obj) {
  const Model = modelClass(obj.apiVersion, obj.kind);
  if (!Model) return fail(obj, `no schema for ${obj.apiVersion} ${obj.kind}`);
  try {
    // kustomize folds long base64 values of generated Secrets over lines; the API server's decoder
    // skips the line breaks, the schema's "byte" format does not.
    const normalized =
      obj.kind === 'Secret' && obj.data
        ? {
            ...obj,
            data: Object.fromEntries(Object.entries(obj.data).map(([k, v]) => [k, String(v).replace(/\s/g, '')])),
          }
        : obj;
    new Model(normalized).validate();
  } catch (e) {
    fail(obj, `schema: ${e.message}`);
  }
}

// ------------------------------------------------------------------ 2. unknown fields
function clientNodeClass(apiVersion, kind) {
  const version = apiVersion.split('/').pop(); // v1, v2, v1beta1
  const name = version.charAt(0).toUpperCase() + version.slice(1) + kind;
  return k8s[name] && typeof k8s[name].getAttributeTypeMap === 'function' ? name : null;
}

function checkFields(obj, value, type, at) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => checkFields(obj, v, m[1], `${at}[${i}]`));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) checkFields(obj, v, m[1], `${at}.${k}`);
    return;
  }
  const cls = k8s[type];
  if (!cls || typeof cls.getAttributeTypeMap !== 'function' || typeof value !== 'object') return;
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, v] of Object.entries(value)) {
    if (!attrs.has(key)) {
      fail(obj, `unknown field ${at ? `${at}.` : ''}${key} (not in ${type})`);
      continue;
    }
    checkFields(obj, v, attrs.get(key), at ? `${at}.${key}` : key);
  }
}

function validateFields(obj) {
  const cls = clientNodeClass(obj.apiVersion, obj.kind);
  if (cls) checkFields(obj, obj, cls, '');
  // Kinds without a client-node model (CRDs) are covered by the schema check only.
}

// ------------------------------------------------------------------ 3. contract
// What the apps serve (README, docs/deploy/README.md): keep in step with apps/*/src/main.ts.
const CONTRACT = {
  api: {
    entry: 'dist/apps/api/main.js',
    ports: { PORT: 8080, METRICS_PORT: 9100 },
    probes: {
      startupProbe: ['/health/live', 'PORT'],
      livenessProbe: ['/health/live', 'PORT'],
      readinessProbe: ['/health/ready', 'PORT'],
    },
  },
  worker: {
    entry: 'dist/apps/worker/main.js',
    ports: { METRICS_PORT: 9101 },
    probes: {
      startupProbe: ['/health/live', 'METRICS_PORT'],
      livenessProbe: ['/health/live', 'METRICS_PORT'],
      readinessProbe: ['/health/ready', 'METRICS_PORT'],
    },
  },
};
const DEFAULT_SHUTDOWN_GRACE_MS = 15000;
const POD_CONTROLLERS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

function envOf(container, objects, ns) {
  const env = {};
  for (const from of container.envFrom || []) {
    const ref = from.configMapRef || from.secretRef;
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    const src = objects.find(
      (o) => o.kind === kind && o.metadata.name === ref?.name && (o.metadata.namespace || ns) === ns,
    );
    if (!src) {
      if (!ref?.optional) errors.push(`container ${container.name}: envFrom ${kind} ${ref?.name} not in the manifests`);
      continue;
    }
    const data = { ...(src.data || {}), ...(src.stringData || {}) };
    for (const [k, v] of Object.entries(data))
      env[(from.prefix || '') + k] = kind === 'Secret' && src.data?.[k] ? Buffer.from(v, 'base64').toString() : v;
  }
  for (const e of container.env || []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function resolvePort(container, port) {
  if (typeof port === 'number') return port;
  const p = (container.ports || []).find((x) => x.name === port);
  return p ? p.containerPort : NaN;
}

function matches(selector, labels) {
  const ml = selector?.matchLabels || {};
  const okLabels = Object.entries(ml).every(([k, v]) => labels?.[k] === v);
  const okExpr = (selector?.matchExpressions || []).every((e) => {
    const has = labels && e.key in labels;
    if (e.operator === 'In') return has && e.values.includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !e.values.includes(labels[e.key]);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    return false;
  });
  return okLabels && okExpr;
}

function checkContract(objects) {
  const pods = objects.filter((o) => POD_CONTROLLERS.has(o.kind));
  const seen = { api: 0, worker: 0 };
  for (const ctl of pods) {
    const spec = ctl.spec.template.spec;
    const podSec = spec.securityContext || {};
    const ns = ctl.metadata.namespace;
    for (const c of spec.containers) {
      const where = `${ctl.kind}/${ctl.metadata.name} container ${c.name}`;
      // Security and resources, for every container (Redis too).
      const sec = c.securityContext || {};
      if (!(sec.runAsNonRoot ?? podSec.runAsNonRoot)) errors.push(`${where}: runAsNonRoot is not set`);
      if (sec.readOnlyRootFilesystem !== true) errors.push(`${where}: readOnlyRootFilesystem is not true`);
      if (sec.allowPrivilegeEscalation !== false) errors.push(`${where}: allowPrivilegeEscalation is not false`);
      if (!sec.capabilities?.drop?.includes('ALL')) errors.push(`${where}: capabilities.drop does not include ALL`);
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory)
        errors.push(`${where}: no cpu/memory requests`);
      if (!c.resources?.limits?.memory) errors.push(`${where}: no memory limit`);
      for (const p of ['livenessProbe', 'readinessProbe']) if (!c[p]) errors.push(`${where}: no ${p}`);

      const cmd = [...(c.command || []), ...(c.args || [])].join(' ');
      const app = Object.keys(CONTRACT).find((a) => cmd.includes(CONTRACT[a].entry));
      if (!app) continue;
      seen[app]++;
      const spec_ = CONTRACT[app];
      const env = envOf(c, objects, ns);
      const port = (name) => Number(env[name] ?? spec_.ports[name]);
      for (const [name, def] of Object.entries(spec_.ports)) {
        if (port(name) !== def) errors.push(`${where}: ${name}=${env[name]} differs from the contract's ${def}`);
        if (!(c.ports || []).some((p) => p.containerPort === port(name)))
          errors.push(`${where}: no containerPort for ${name} (${port(name)})`);
      }
      for (const [probe, [path, portVar]] of Object.entries(spec_.probes)) {
        const h = c[probe]?.httpGet;
        if (!h) {
          errors.push(`${where}: ${probe} must be an httpGet on ${path}`);
          continue;
        }
        if (h.path !== path) errors.push(`${where}: ${probe} path ${h.path}, the app serves ${path}`);
        if (resolvePort(c, h.port) !== port(portVar))
          errors.push(`${where}: ${probe} port ${h.port} is not ${portVar}=${port(portVar)}`);
      }
      const ann = ctl.spec.template.metadata?.annotations || {};
      if (ann['prometheus.io/scrape'] === 'true') {
        if (Number(ann['prometheus.io/port']) !== port('METRICS_PORT'))
          errors.push(
            `${where}: prometheus.io/port ${ann['prometheus.io/port']} is not METRICS_PORT=${port('METRICS_PORT')}`,
          );
        if ((ann['prometheus.io/path'] || '/metrics') !== '/metrics')
          errors.push(`${where}: prometheus.io/path is not /metrics`);
      }
      // The postgres result store: a DATABASE_URL, and the schema applied before the app starts (an
      // init container running node-pg-migrate up with the same URL).
      if (env.RESULTS_BACKEND === 'postgres') {
        if (!/^postgres(ql)?:\/\//.test(env.DATABASE_URL ?? ''))
          errors.push(`${where}: RESULTS_BACKEND=postgres without a postgres:// DATABASE_URL`);
        const migrate = (spec.initContainers || []).find((i) =>
          /node-pg-migrate(\.js)? up/.test([...(i.command || []), ...(i.args || [])].join(' ')),
        );
        if (!migrate) errors.push(`${where}: RESULTS_BACKEND=postgres but no init container runs node-pg-migrate up`);
        else {
          if (envOf(migrate, objects, ns).DATABASE_URL !== env.DATABASE_URL)
            errors.push(`${where}: the migrate init container's DATABASE_URL differs from the app's`);
          const isec = migrate.securityContext || {};
          if (isec.readOnlyRootFilesystem !== true || isec.allowPrivilegeEscalation !== false)
            errors.push(`${where}: init container ${migrate.name} is not read-only / no-privilege-escalation`);
          if (!migrate.resources?.limits?.memory)
            errors.push(`${where}: init container ${migrate.name} has no memory limit`);
        }
      }
      if (app === 'worker') {
        const grace = Number(env.SHUTDOWN_GRACE_MS ?? DEFAULT_SHUTDOWN_GRACE_MS);
        const tgps = spec.terminationGracePeriodSeconds ?? 30;
        if (tgps * 1000 <= grace)
          errors.push(`${where}: terminationGracePeriodSeconds ${tgps}s is not above SHUTDOWN_GRACE_MS ${grace}`);
      }
    }
  }
  for (const app of Object.keys(seen))
    if (!seen[app]) errors.push(`no container runs the ${app} (${CONTRACT[app].entry})`);

  // References between objects.
  const podsIn = (ns, selector) =>
    pods.filter((p) => p.metadata.namespace === ns && matches(selector, p.spec.template.metadata?.labels));
  for (const o of objects) {
    const ns = o.metadata.namespace;
    if (o.kind === 'Service') {
      const sel = o.spec.selector;
      if (!sel) continue;
      const targets = podsIn(ns, { matchLabels: sel });
      if (!targets.length) fail(o, 'selects no pod template');
      for (const p of o.spec.ports || []) {
        const tp = p.targetPort ?? p.port;
        const ok = targets.some((t) =>
          t.spec.template.spec.containers.some((c) =>
            (c.ports || []).some((cp) => (typeof tp === 'number' ? cp.containerPort === tp : cp.name === tp)),
          ),
        );
        if (!ok) fail(o, `targetPort ${tp} is no port of the selected pods`);
      }
    }
    if (o.kind === 'PodDisruptionBudget' && !podsIn(ns, o.spec.selector).length) fail(o, 'selects no pod template');
    if (o.kind === 'HorizontalPodAutoscaler') {
      const t = o.spec.scaleTargetRef;
      if (!objects.some((x) => x.kind === t.kind && x.metadata.name === t.name && x.metadata.namespace === ns))
        fail(o, `scaleTargetRef ${t.kind}/${t.name} not in the manifests`);
    }
    if (o.kind === 'PodMonitor') {
      const targets = podsIn(ns, o.spec.selector);
      if (!targets.length) fail(o, 'selects no pod template');
      for (const ep of o.spec.podMetricsEndpoints || []) {
        if (
          !targets.every((t) =>
            t.spec.template.spec.containers.some((c) => (c.ports || []).some((cp) => cp.name === ep.port)),
          )
        )
          fail(o, `port ${ep.port} is missing on a selected pod`);
        if ((ep.path || '/metrics') !== '/metrics') fail(o, `path ${ep.path} is not /metrics`);
      }
      const jl = o.spec.jobLabel;
      for (const t of targets) {
        const job = jl && t.spec.template.metadata.labels[jl];
        if (!['api', 'worker'].includes(job))
          fail(o, `job label of ${t.metadata.name} would be "${job}", the dashboards expect api or worker`);
      }
    }
    if (['Deployment', 'StatefulSet'].includes(o.kind) && !matches(o.spec.selector, o.spec.template.metadata?.labels))
      fail(o, 'selector does not match its own pod template');
  }
}

// Every env key the manifests hand the apps must be one the apps read: a typo
// (WORKER_CONCURENCY) would otherwise be ignored without a word.
const SOURCE_DIRS = ['apps', 'libs'].map((d) => new URL(`../../${d}/`, import.meta.url).pathname);
let sourceText = null;
function appSource() {
  if (sourceText === null) {
    const parts = [];
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = `${dir}${e.name}`;
        if (e.isDirectory()) walk(`${p}/`);
        else if (/\.ts$/.test(e.name) && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(e.name))
          parts.push(fs.readFileSync(p, 'utf8'));
      }
    };
    for (const d of SOURCE_DIRS) if (fs.existsSync(d)) walk(d);
    sourceText = parts.join('\n');
  }
  return sourceText;
}

function checkEnvKeys(objects) {
  const src = appSource();
  if (!src) return; // no sources next to the manifests (e.g. validating elsewhere)
  const used = new Set();
  for (const ctl of objects.filter((o) => POD_CONTROLLERS.has(o.kind))) {
    for (const c of ctl.spec.template.spec.containers) {
      const cmd = [...(c.command || []), ...(c.args || [])].join(' ');
      if (!Object.values(CONTRACT).some((a) => cmd.includes(a.entry))) continue;
      for (const e of c.env || []) used.add(`container ${c.name}: env ${e.name}|${e.name}`);
      for (const f of c.envFrom || []) {
        const ref = f.configMapRef || f.secretRef;
        const kind = f.configMapRef ? 'ConfigMap' : 'Secret';
        const o = objects.find((x) => x.kind === kind && x.metadata.name === ref?.name);
        for (const k of Object.keys({ ...(o?.data || {}), ...(o?.stringData || {}) }))
          used.add(`${kind}/${ref.name}: key ${k}|${(f.prefix || '') + k}`);
      }
    }
  }
  for (const u of used) {
    const [where, key] = u.split('|');
    // <NAME>_FILE is read for every NAME the apps read (libs/config validateEnv).
    if (!new RegExp(`\\b${key.replace(/_FILE$/, '')}\\b`).test(src))
      errors.push(`${where} is read nowhere in apps/ or libs/`);
  }
}

// ------------------------------------------------------------------ 4. hardening (docs/deploy/README.md)
const k8sBytes = (v) => {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(String(v ?? ''));
  return m ? Number(m[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2]] ?? 1) : NaN;
};
// redis-server's units: 1mb = 1024 * 1024 bytes, 1m = 1000 * 1000.
const redisBytes = (v) => {
  const m = /^(\d+)(kb|mb|gb|k|m|g)?$/i.exec(String(v ?? ''));
  return m
    ? Number(m[1]) * ({ kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, k: 1e3, m: 1e6, g: 1e9 }[m[2]?.toLowerCase()] ?? 1)
    : NaN;
};

function checkHardening(objects) {
  const pods = objects.filter((o) => POD_CONTROLLERS.has(o.kind));
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const defaultDeny = policies.find(
    (p) =>
      Object.keys(p.spec.podSelector || {}).length === 0 &&
      ['Ingress', 'Egress'].every((t) => (p.spec.policyTypes || []).includes(t)),
  );
  if (!defaultDeny) errors.push('no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress)');
  for (const ctl of pods) {
    const where = `${ctl.kind}/${ctl.metadata.name}`;
    const labels = ctl.spec.template.metadata?.labels;
    const allowing = policies.filter(
      (p) =>
        p !== defaultDeny && Object.keys(p.spec.podSelector || {}).length > 0 && matches(p.spec.podSelector, labels),
    );
    if (!allowing.length) errors.push(`${where}: no NetworkPolicy allows its flows (the default deny cuts it off)`);
    for (const c of ctl.spec.template.spec.containers) {
      const cmd = [...(c.command || []), ...(c.args || [])].join(' ');
      const app = Object.keys(CONTRACT).find((a) => cmd.includes(CONTRACT[a].entry));
      if (!app && !/@sha256:[0-9a-f]{64}$/.test(c.image))
        errors.push(`${where} container ${c.name}: image ${c.image} is not pinned by digest`);
      const env = envOf(c, objects, ctl.metadata.namespace);
      const names = new Set([...(c.env || []).map((e) => e.name), ...Object.keys(env)]);
      if (cmd.includes('redis-start.sh')) {
        const args = c.args || [];
        const at = (flag) => args[args.indexOf(flag) + 1];
        if (at('--maxmemory-policy') !== 'noeviction')
          errors.push(`${where}: redis must run with --maxmemory-policy noeviction`);
        const max = redisBytes(at('--maxmemory'));
        const limit = k8sBytes(c.resources?.limits?.memory);
        if (!(max > 0 && max < limit))
          errors.push(
            `${where}: redis --maxmemory (${at('--maxmemory')}) must be set below its memory limit (${c.resources?.limits?.memory})`,
          );
        if (!names.has('REDIS_PASSWORD')) errors.push(`${where}: redis-start.sh needs REDIS_PASSWORD`);
      } else if (/redis-server/.test(cmd)) {
        errors.push(`${where}: redis must start through redis-start.sh (ACL: default user off, user taskq)`);
      }
      if (app && !names.has('REDIS_PASSWORD') && !names.has('REDIS_PASSWORD_FILE'))
        errors.push(`${where}: the ${app} logs in to Redis without REDIS_PASSWORD(_FILE)`);
      if (app === 'api' && (env.AUTH_MODE ?? 'api-key') === 'none') errors.push(`${where}: AUTH_MODE=none`);
      if (app === 'worker' && [...names].some((n) => n.startsWith('BOOTSTRAP_ADMIN_KEY')))
        errors.push(`${where}: workers must not get the admin key`);
    }
  }
}

// ------------------------------------------------------------------ main
const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: validate-k8s.mjs RENDERED.yaml ...');
  process.exit(2);
}
let total = 0;
for (const file of files) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const objects = [];
  for (const d of docs) {
    if (d.errors.length) {
      errors.push(`${file}: YAML: ${d.errors[0].message}`);
      continue;
    }
    const obj = d.toJS();
    if (!obj) continue;
    objects.push(obj);
  }
  const before = errors.length;
  for (const obj of objects) {
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      fail(null, `${file}: object without apiVersion/kind/metadata.name`);
      continue;
    }
    validateSchema(obj);
    validateFields(obj);
  }
  checkContract(objects);
  checkEnvKeys(objects);
  checkHardening(objects);
  total += objects.length;
  const kinds = {};
  for (const o of objects) kinds[o.kind] = (kinds[o.kind] || 0) + 1;
  console.log(
    `${errors.length === before ? 'OK  ' : 'FAIL'} ${file}: ${objects.length} objects (${Object.entries(kinds)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')})`,
  );
}
for (const e of errors) console.error(`  - ${e}`);
if (errors.length) {
  console.error(`${errors.length} problems in ${total} objects`);
  process.exit(1);
}
