#!/bin/sh
# Starts redis-server for taskq behind an ACL. One source for docker-compose.yml (mounted) and
# Kubernetes (configMapGenerator in kustomization.yaml):
#   - the `default` user is off: nothing works without logging in;
#   - user $REDIS_USERNAME (taskq) logs in with $REDIS_PASSWORD (only its SHA-256 is written) and may
#     touch only keys and pub/sub channels under $QUEUE_PREFIX, with only the commands taskq sends
#     (its Lua scripts' commands included: Redis checks those against the ACL too).
# test/e2e/redis-acl.e2e-spec.ts runs every api and worker path against this ACL and checks that
# Redis denied nothing (ACL LOG), and that the user cannot reach other keys or commands.
#
#   REDIS_PASSWORD=... [REDIS_USERNAME=taskq] [QUEUE_PREFIX=taskq] redis-start.sh [redis-server args]
#   redis-start.sh --print-acl     prints the ACL file and exits
set -eu
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set (scripts/gen-secrets.sh makes one)}"
user="${REDIS_USERNAME:-taskq}"
prefix="${QUEUE_PREFIX:-taskq}"
case "$prefix" in *[!A-Za-z0-9_.:-]*) echo "QUEUE_PREFIX may hold only [A-Za-z0-9_.:-]" >&2; exit 1 ;; esac
hash=$(printf '%s' "$REDIS_PASSWORD" | sha256sum | cut -d ' ' -f 1)

# Connection upkeep (ioredis: AUTH, SELECT, CLIENT SETNAME, INFO for its ready check).
connection='+auth +hello +ping +echo +select +quit +info +client|setname'
# Scripts, and what the scripts call.
scripts='+eval +evalsha +time'
strings='+get +set +del +exists +incr +incrby +expire +pexpire +persist +ttl +pttl'
hashes='+hget +hmget +hgetall +hkeys +hscan +hlen +hset +hdel +hincrby'
sets='+sadd +srem +sismember +smembers +scard'
zsets='+zadd +zrem +zcard +zcount +zscore +zrange +zrangebylex +zrangebyscore +zrevrangebyscore +zremrangebyscore +zpopmin'
lists='+rpush +lpush +lpop +lrange +ltrim +llen +blpop'
other='+multi +exec +discard +wait +publish +subscribe +unsubscribe'
acl="user default off
user $user on #$hash resetkeys ~$prefix:* resetchannels &$prefix:* -@all $connection $scripts $strings $hashes $sets $zsets $lists $other"

if [ "${1:-}" = "--print-acl" ]; then
  printf '%s\n' "$acl"
  exit 0
fi
dir="${ACL_DIR:-/tmp}"
umask 077
printf '%s\n' "$acl" >"$dir/taskq-users.acl"
exec redis-server "$@" --aclfile "$dir/taskq-users.acl"
