#!/usr/bin/env bash
# CI: every Grafana panel query returns data from a real Prometheus scraping the
# built apps after a workload (details in check-dashboards.js).
#
#   scripts/ci/check-dashboards.sh [--report FILE]
#
# Expects the apps built (npm ci && npm run build); set BUILD=1 to build here.
# Installs redis-server and Debian's prometheus when missing (runs as root on a
# fresh machine). Exits non-zero on any error or empty panel query.
set -euo pipefail
cd "$(dirname "$0")/../.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v prometheus >/dev/null || need_apt+=(prometheus)
if ((${#need_apt[@]})); then
  echo "[check-dashboards] installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq
  # --no-install-recommends: skip node-exporter & co; policy-rc.d keeps the
  # packages from starting their own daemons on a machine without systemd.
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; fi
fi

if [[ "${BUILD:-0}" == 1 ]]; then
  npm ci --no-audit --no-fund
  npm run build
fi

exec node scripts/ci/check-dashboards.js "$@"
