# Starts a throwaway PostgreSQL on 127.0.0.1 for tests and benchmarks; sourced by scripts.
# After `start_postgres`, PG_URL points at its `postgres` database and PG_DIR holds its data;
# `stop_postgres` (registered as an EXIT trap) stops it and removes the data.

pg_bin_dir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [[ -z "$dir" ]]; then
    echo "PostgreSQL is missing: installing it with apt-get" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$dir"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command as the postgres user when we are root (initdb refuses root).
as_pg_user() {
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    su postgres -s /bin/bash -c "$*"
  else
    bash -c "$*"
  fi
}

start_postgres() {
  local bin port
  bin=$(pg_bin_dir)
  port=$(free_port)
  PG_DIR=$(mktemp -d /tmp/orderflow-pg.XXXXXX)
  [[ $(id -u) -eq 0 ]] && { id postgres >/dev/null 2>&1 || as_pg_user true; chown postgres "$PG_DIR"; }
  as_pg_user "'$bin/initdb' -D '$PG_DIR/data' -A trust -U postgres -E UTF8 --no-locale" >/dev/null
  # Tests trade durability for speed; benchmarks (PG_DURABLE=1) keep PostgreSQL's defaults.
  local speed="-c fsync=off -c synchronous_commit=off"
  [[ "${PG_DURABLE:-0}" == 1 ]] && speed=""
  as_pg_user "'$bin/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/log' -w -o \"-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$PG_DIR' $speed -c max_connections=300\" start" >/dev/null
  PG_BIN=$bin
  PG_PORT=$port
  PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export PG_BIN PG_PORT PG_URL PG_DIR
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $PG_DIR)"
}

stop_postgres() {
  if [[ -n "${PG_DIR:-}" && -d "$PG_DIR/data" ]]; then
    as_pg_user "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -m immediate stop" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
