#!/usr/bin/env node
// Copies the single sources of truth into the Kubernetes monitoring component,
// which kustomize can only read from its own folder:
//   prometheus/*.rules.yml     -> deploy/k8s/components/monitoring/prometheusrule.yaml
//   grafana/dashboards/*.json  -> deploy/k8s/components/monitoring/dashboards/
//
//   node scripts/ci/sync-k8s-monitoring.js          # write the copies
//   node scripts/ci/sync-k8s-monitoring.js --check  # exit 1 when a copy is stale
//
// Needs the `yaml` package of scripts/ci (npm ci --prefix scripts/ci).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '..', '..');
const COMPONENT = path.join(ROOT, 'deploy', 'k8s', 'components', 'monitoring');
const check = process.argv.includes('--check');

function expected() {
  const files = new Map();

  const ruleFiles = fs
    .readdirSync(path.join(ROOT, 'prometheus'))
    .filter((f) => f.endsWith('.rules.yml'))
    .sort();
  const groups = [];
  for (const f of ruleFiles) {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, 'prometheus', f), 'utf8'));
    groups.push(...doc.groups);
  }
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'taskq' },
    spec: { groups },
  };
  const header =
    '# GENERATED from prometheus/*.rules.yml by scripts/ci/sync-k8s-monitoring.js: edit\n' +
    '# the source and re-run the script. Your Prometheus must select this rule (with\n' +
    '# kube-prometheus-stack: ruleSelectorNilUsesHelmValues=false or its release label).\n';
  files.set('prometheusrule.yaml', header + YAML.stringify(rule, { lineWidth: 0 }));

  const dashDir = path.join(ROOT, 'grafana', 'dashboards');
  for (const f of fs
    .readdirSync(dashDir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    files.set(path.join('dashboards', f), fs.readFileSync(path.join(dashDir, f), 'utf8'));
  }
  return files;
}

let stale = 0;
const want = expected();
for (const [rel, text] of want) {
  const file = path.join(COMPONENT, rel);
  if (check) {
    const have = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (have !== text) {
      console.error(`stale: ${path.relative(ROOT, file)} (run: node scripts/ci/sync-k8s-monitoring.js)`);
      stale++;
    }
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    console.log(`wrote ${path.relative(ROOT, file)}`);
  }
}
// A dashboard removed from grafana/ must go from the component too.
const dashCopies = path.join(COMPONENT, 'dashboards');
if (fs.existsSync(dashCopies)) {
  for (const f of fs.readdirSync(dashCopies)) {
    if (want.has(path.join('dashboards', f))) continue;
    if (check) {
      console.error(`stale: ${path.relative(ROOT, path.join(dashCopies, f))} has no source in grafana/dashboards`);
      stale++;
    } else {
      fs.rmSync(path.join(dashCopies, f));
      console.log(`removed ${path.relative(ROOT, path.join(dashCopies, f))}`);
    }
  }
}
// The component's configMapGenerator must list exactly the dashboards.
const kust = YAML.parse(fs.readFileSync(path.join(COMPONENT, 'kustomization.yaml'), 'utf8'));
const listed = (kust.configMapGenerator || []).flatMap((g) => g.files || []).sort();
const dashes = [...want.keys()].filter((k) => k.startsWith('dashboards' + path.sep)).sort();
if (JSON.stringify(listed) !== JSON.stringify(dashes)) {
  console.error(
    `deploy/k8s/components/monitoring/kustomization.yaml lists ${listed.join(', ')}; expected ${dashes.join(', ')}`,
  );
  stale++;
}
if (stale) process.exit(1);
