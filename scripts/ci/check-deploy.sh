#!/usr/bin/env bash
# CI: static checks of every deployment artifact. Runs as root on a fresh machine
# (no Docker engine, no network but the npm registry and Debian's packages) and
# installs what it needs. Exits non-zero on the first failing step.
#
#   scripts/ci/check-deploy.sh
#
# 0. Dockerfile              lint (dockerfile-utils), build context vs .dockerignore,
#                            runtime stage: node 20, non-root, HEALTHCHECK
# 1. docker-compose.yml      docker-compose config (Debian's docker-compose) + contract, also of
#                            the `cluster` profile with deploy/docker/cluster.env
# 2. prometheus.yml, rules   promtool check config / check rules / test rules
# 3. generated copies        grafana/dashboards/*.json and the k8s monitoring
#                            component are in step with their sources
# 4. Kubernetes              kubectl kustomize of base and every overlay; every
#                            object validated offline against the Kubernetes and
#                            Prometheus Operator schemas, plus the apps' contract
#                            (probe paths/ports, metrics ports, shutdown grace)
set -euo pipefail
cd "$(dirname "$0")/../.."
step() { printf '\n== %s\n' "$*"; }

# ------------------------------------------------------------------ tools
apt_missing=()
command -v docker-compose >/dev/null || apt_missing+=(docker-compose)
command -v promtool >/dev/null || apt_missing+=(prometheus)
if ((${#apt_missing[@]})); then
  step "installing ${apt_missing[*]} (Debian)"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq
  made_policy=0 # keep package scripts from starting daemons
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
  if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; fi
fi
# kustomize: the one built into kubectl (on this machine image). Debian's
# kubernetes-client is too old (no kustomize components), and no kustomize
# binary is published on npm.
if ! command -v kubectl >/dev/null || ! kubectl kustomize --help >/dev/null 2>&1; then
  echo "kubectl with built-in kustomize (>= 1.27) is required" >&2
  exit 1
fi

step "npm ci --prefix scripts/ci (schema validator, yaml)"
npm ci --prefix scripts/ci --no-audit --no-fund --loglevel=error

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------------ Dockerfile
step "Dockerfile + .dockerignore"
node scripts/ci/validate-dockerfile.mjs

# ------------------------------------------------------------------ compose
step "docker-compose config"
docker-compose --version
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml config >"$tmp/compose.yml"
node scripts/ci/validate-compose.mjs "$tmp/compose.yml"
docker-compose -f docker-compose.yml --profile cluster --env-file deploy/docker/cluster.env config >"$tmp/compose-cluster.yml"
node scripts/ci/validate-compose.mjs "$tmp/compose-cluster.yml" --cluster

# ------------------------------------------------------------------ prometheus
step "promtool"
promtool --version | head -1
promtool check config prometheus.yml
promtool check rules prometheus/*.rules.yml
promtool test rules prometheus/*.test.yml

# ------------------------------------------------------------------ generated copies
step "generated files are up to date"
node grafana/generate.js --check
node scripts/ci/sync-k8s-monitoring.js --check
echo "grafana/dashboards and deploy/k8s/components/monitoring are in step with their sources"

# ------------------------------------------------------------------ kubernetes
step "kustomize + schema + contract"
kubectl version --client 2>/dev/null | grep -i kustomize || true
rendered=()
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  dir="${dir%/}"
  out="$tmp/$(echo "$dir" | tr / _).yaml"
  kubectl kustomize "$dir" >"$out"
  rendered+=("$out")
done
node scripts/ci/validate-k8s.mjs "${rendered[@]}"

step "check-deploy: all passed"
