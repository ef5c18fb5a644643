#!/bin/sh
# Prints fresh secrets for docker compose (.env) or Kubernetes (deploy/k8s/base/secrets.env), one per line:
#
#   scripts/gen-secrets.sh > .env                          # docker compose
#   scripts/gen-secrets.sh > deploy/k8s/base/secrets.env   # kubectl apply -k deploy/k8s/...
#
# REDIS_PASSWORD        the Redis ACL user taskq's password (Redis, api and workers read it)
# BOOTSTRAP_ADMIN_KEY   an admin API key the api creates at boot (tq_<12 hex id>_<64 hex secret>):
#                       use it to create narrower keys, then revoke it (see README "Authentication")
# POSTGRES_PASSWORD     the result store's PostgreSQL user taskq (PostgreSQL, api, workers, migrations)
# GRAFANA_ADMIN_PASSWORD  compose only; without it Grafana's login is admin/admin
#
# Both files are git-ignored; never commit them. Needs openssl, or od and /dev/urandom.
set -eu
hex() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex "$1"
  else
    od -An -vtx1 -N"$1" /dev/urandom | tr -d ' \n'
  fi
}
printf 'REDIS_PASSWORD=%s\n' "$(hex 32)"
printf 'BOOTSTRAP_ADMIN_KEY=tq_%s_%s\n' "$(hex 6)" "$(hex 32)"
printf 'POSTGRES_PASSWORD=%s\n' "$(hex 32)"
printf 'GRAFANA_ADMIN_PASSWORD=%s\n' "$(hex 16)"
