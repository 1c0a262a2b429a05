# Starts and stops the servers the tests use, on free loopback ports, under build/services/.
# Source it, then: services_start / services_stop. Exports C19AI_TEST_POSTGRES_URL (and, as later
# issues add them, the Redis and S3 URLs).

SERVICES_DIR=${SERVICES_DIR:-$PWD/build/services}

_free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

_as_postgres() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
  local bin=/usr/lib/postgresql/15/bin
  local dir=$SERVICES_DIR/postgres
  rm -rf "$dir"; mkdir -p "$dir"
  [[ $(id -u) == 0 ]] && chown postgres "$dir"
  PG_PORT=$(_free_port)
  _as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
  _as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  export C19AI_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "postgres on 127.0.0.1:$PG_PORT"
}

postgres_stop() {
  local dir=$SERVICES_DIR/postgres
  [[ -d $dir/data ]] || return 0
  _as_postgres /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
}

services_start() {
  mkdir -p "$SERVICES_DIR"
  [[ $(id -u) == 0 ]] && chmod 755 "$SERVICES_DIR" "$(dirname "$SERVICES_DIR")"
  postgres_start
}

services_stop() {
  postgres_stop
}
