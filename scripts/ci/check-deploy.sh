#!/usr/bin/env bash
# CI: static checks of every deployment artifact. Runs as root on a fresh machine
# (no Docker engine, no network but the npm registry and Debian's packages) and
# installs what it needs. Exits non-zero on the first failing step.
#
#   scripts/ci/check-deploy.sh
#
# 0. Dockerfile              lint (dockerfile-utils), build context vs .dockerignore,
#                            runtime stage: node 24, non-root, HEALTHCHECK
# 1. docker-compose.yml      docker-compose config (Debian's docker-compose) with throwaway
#                            secrets (and refused without them) + contract: ports on
#                            127.0.0.1, images by digest, Redis ACL and maxmemory, keys
#                            and of the `cluster` profile (deploy/docker/compose.cluster.yml)
# 2. prometheus.yml, rules   promtool check config / check rules / test rules
# 3. generated copies        grafana/dashboards/*.json and the k8s monitoring
#                            component are in step with their sources
# 4. Kubernetes              kubectl kustomize of base and every overlay (with throwaway
#                            secrets.env); every object validated offline against the
#                            Kubernetes and Prometheus Operator schemas, plus the apps'
#                            contract (probe paths/ports, metrics ports, shutdown grace)
#                            and hardening (default-deny NetworkPolicies, images by
#                            digest, Redis ACL and maxmemory, secrets as files)
# 5. no CHANGE-ME            no placeholder secret in any deployment file
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
# Throwaway secrets for rendering (never a committed one): compose's .env, Kubernetes' secrets.env.
sh scripts/gen-secrets.sh >"$tmp/ci.env"
made_k8s_secrets=0
if [[ ! -e deploy/k8s/base/secrets.env ]]; then
  cp "$tmp/ci.env" deploy/k8s/base/secrets.env
  made_k8s_secrets=1
fi
cleanup() {
  rm -rf "$tmp"
  if ((made_k8s_secrets)); then rm -f deploy/k8s/base/secrets.env; fi
}
trap cleanup EXIT

# ------------------------------------------------------------------ Dockerfile
step "Dockerfile + .dockerignore"
node scripts/ci/validate-dockerfile.mjs

# ------------------------------------------------------------------ compose
step "docker-compose config"
docker-compose --version
# Without secrets compose must refuse to start (no default password, no default key).
if env -u REDIS_PASSWORD -u BOOTSTRAP_ADMIN_KEY docker-compose --env-file /dev/null -f docker-compose.yml config -q 2>/dev/null; then
  echo "docker-compose.yml starts without REDIS_PASSWORD/BOOTSTRAP_ADMIN_KEY: it must require them" >&2
  exit 1
fi
docker-compose --env-file "$tmp/ci.env" -f docker-compose.yml config -q
docker-compose --env-file "$tmp/ci.env" -f docker-compose.yml config >"$tmp/compose.yml"
node scripts/ci/validate-compose.mjs "$tmp/compose.yml"
docker-compose --env-file "$tmp/ci.env" -f docker-compose.yml -f deploy/docker/compose.cluster.yml --profile cluster config >"$tmp/compose-cluster.yml"
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

# ------------------------------------------------------------------ placeholders
step "no CHANGE-ME placeholders"
if git ls-files -z deploy docker-compose.yml Dockerfile prometheus.yml prometheus grafana/provisioning scripts |
  xargs -0 grep -l 'CHANGE-ME' -- 2>/dev/null | grep -v '^scripts/ci/check-deploy.sh$'; then
  echo "placeholder secrets above: generate secrets (scripts/gen-secrets.sh) instead" >&2
  exit 1
fi
if grep -l 'CHANGE-ME' "${rendered[@]}"; then exit 1; fi
echo "none"

step "check-deploy: all passed"
