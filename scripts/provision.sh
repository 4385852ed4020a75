#!/usr/bin/env bash
# Brings up PostgreSQL with PostGIS and Redis for OmniRoute and records where they are in
# .omniroute/env (read by the settings). Safe to run any number of times.
#
# PostgreSQL: DATABASE_URL if set; else the local server on 127.0.0.1:5432 if it answers
# (started with the machine's own command if installed but down); else a private cluster
# under .omniroute/pg on a free port (installing the server first when root).
# Redis: REDIS_URL if set; else 127.0.0.1:6379 (started or installed the same way); else
# the single-process mode (REDIS_URL=memory://).
set -euo pipefail

STATE_DIR="${OMNIROUTE_STATE_DIR:-.omniroute}"
ENV_FILE="$STATE_DIR/env"
REQUIRE_REDIS="${REQUIRE_REDIS:-0}"
mkdir -p "$STATE_DIR"

log() { echo "[provision] $*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }

APT_UPDATED=0
apt_install() {
  is_root || { log "not root: cannot apt-get install $*"; return 1; }
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

pg_answers() { # host port
  pg_isready -q -h "$1" -p "$2" -t 3 2>/dev/null && \
    psql -h "$1" -p "$2" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1
}

pg_version() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_private_cluster() {
  local version bin data port
  version="$(pg_version)"
  bin="/usr/lib/postgresql/$version/bin"
  data="$PWD/$STATE_DIR/pg/data"
  if [ -f "$STATE_DIR/pg/port" ]; then port="$(cat "$STATE_DIR/pg/port")"; else port="$(free_port)"; fi
  mkdir -p "$STATE_DIR/pg"
  local as=()
  if is_root; then chown -R postgres: "$STATE_DIR/pg"; as=(runuser -u postgres --); fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a private PostgreSQL $version cluster in $data"
    "${as[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if ! pg_answers 127.0.0.1 "$port"; then
    log "starting the private cluster on 127.0.0.1:$port"
    "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$data/../server.log" -w \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $data" start >/dev/null
  fi
  echo "$port" >"$STATE_DIR/pg/port"
  PG_PORT="$port"
}

ensure_postgres() {
  PG_HOST=127.0.0.1 PG_PORT=5432
  if pg_answers "$PG_HOST" "$PG_PORT"; then log "PostgreSQL answers on $PG_HOST:$PG_PORT"; return; fi
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    log "PostgreSQL is installed but down: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -n | tail -1)" main start \
      >/dev/null 2>&1 || true
    for _ in $(seq 1 20); do pg_answers "$PG_HOST" "$PG_PORT" && return; sleep 0.5; done
  fi
  [ -n "$(pg_version)" ] || apt_install postgresql postgresql-contrib
  start_private_cluster
}

ensure_postgis() { # superuser URL
  local have
  have="$(psql "$1" -Atqc "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")"
  if [ "$have" = 0 ]; then
    local version
    version="$(psql "$1" -Atqc "SHOW server_version_num" | cut -c1-2)"
    apt_install "postgresql-$version-postgis-3" || {
      log "PostGIS is missing: install postgresql-$version-postgis-3"; exit 1; }
  fi
  # pgRouting: the road-network tests and bench/roads.py check the matrices against it.
  have="$(psql "$1" -Atqc "SELECT count(*) FROM pg_available_extensions WHERE name = 'pgrouting'")"
  if [ "$have" = 0 ]; then
    local version
    version="$(psql "$1" -Atqc "SHOW server_version_num" | cut -c1-2)"
    apt_install "postgresql-$version-pgrouting" || \
      log "pgRouting is missing: install postgresql-$version-pgrouting for the road tests"
  fi
}

redis_answers() { # host port
  python3 - "$1" "$2" <<'PY' 2>/dev/null
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
}

start_redis() {
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || \
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$PWD/$STATE_DIR" --logfile "$PWD/$STATE_DIR/redis.log" >/dev/null
  for _ in $(seq 1 20); do redis_answers 127.0.0.1 6379 && return 0; sleep 0.25; done
  return 1
}

ensure_redis() {
  if [ -n "${REDIS_URL:-}" ]; then echo "$REDIS_URL"; return; fi
  if redis_answers 127.0.0.1 6379; then echo "redis://127.0.0.1:6379/0"; return; fi
  if ! command -v redis-server >/dev/null; then apt_install redis-server || true; fi
  if command -v redis-server >/dev/null && { log "starting Redis"; start_redis; }; then
    echo "redis://127.0.0.1:6379/0"; return
  fi
  if [ "$REQUIRE_REDIS" = 1 ]; then log "Redis is required here and could not be started"; exit 1; fi
  log "no Redis: single-process mode (in-memory broadcast, in-process worker)"
  echo "memory://"
}

if [ -n "${DATABASE_URL:-}" ]; then
  log "using DATABASE_URL from the environment"
  OWNER_URL="$DATABASE_URL"
  SUPER_URL="${POSTGRES_SUPERUSER_URL:-$DATABASE_URL}"
  if [ -n "${POSTGRES_SUPERUSER_URL:-}" ]; then ensure_postgis "$SUPER_URL"; fi
else
  ensure_postgres
  SUPER_URL="postgresql://postgres@$PG_HOST:$PG_PORT/postgres"
  ensure_postgis "$SUPER_URL"
  OWNER_URL="postgresql://omniroute_owner@$PG_HOST:$PG_PORT/${OMNIROUTE_DB:-omniroute}"
fi
REDIS="$(ensure_redis)"
# The tests run a private PgBouncer (transaction mode) in front of the server when one is
# installed; its Debian package is installed here when root, and skipped otherwise.
if [ -z "$(command -v pgbouncer || ls /usr/sbin/pgbouncer 2>/dev/null)" ]; then
  apt_install pgbouncer || log "no pgbouncer: the pooled test run will be skipped"
fi
# The console's browser test drives Debian's Chromium (Playwright never downloads a browser).
if [ "${WITH_BROWSER:-0}" = 1 ] && [ -z "$(command -v chromium)" ]; then
  apt_install chromium || log "no chromium: the console's browser test will be skipped"
fi

{
  echo "# Written by scripts/provision.sh; the environment overrides these."
  echo "DATABASE_URL=$OWNER_URL"
  echo "POSTGRES_SUPERUSER_URL=$SUPER_URL"
  echo "REDIS_URL=$REDIS"
} >"$ENV_FILE"
log "wrote $ENV_FILE"
