# Starts and stops the servers the tests use, on free loopback ports, under build/services/.
# Source it, then: services_start / services_stop. Exports C19AI_TEST_POSTGRES_URL,
# C19AI_TEST_REDIS_URL, C19AI_TEST_S3_URL and the S3 test credentials.

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

redis_start() {
  local dir=$SERVICES_DIR/redis
  rm -rf "$dir"; mkdir -p "$dir"
  REDIS_PORT=$(_free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export C19AI_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  echo "redis on 127.0.0.1:$REDIS_PORT"
}

redis_stop() {
  local pid=$SERVICES_DIR/redis/redis.pid
  [[ -f $pid ]] && kill "$(cat "$pid")" 2>/dev/null || true
}

# s3rver (npm) with a bucket for the tests; installed into tools/s3rver on first use.
s3_start() {
  local dir=$SERVICES_DIR/s3
  rm -rf "$dir"; mkdir -p "$dir/data"
  local tools
  tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools/s3rver" && pwd)
  if [[ ! -x $tools/node_modules/.bin/s3rver ]]; then
    (cd "$tools" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  S3_PORT=$(_free_port)
  "$tools/node_modules/.bin/s3rver" -d "$dir/data" -a 127.0.0.1 -p "$S3_PORT" --silent \
    --configure-bucket c19ai-test >"$dir/s3rver.log" 2>&1 &
  echo $! >"$dir/s3rver.pid"
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break; sleep 0.1; done
  export C19AI_TEST_S3_URL="s3://c19ai-test?endpoint=http://127.0.0.1:$S3_PORT&region=us-east-1"
  export C19AI_TEST_S3_ACCESS_KEY=S3RVER C19AI_TEST_S3_SECRET_KEY=S3RVER
  echo "s3rver on 127.0.0.1:$S3_PORT"
}

s3_stop() {
  local pid=$SERVICES_DIR/s3/s3rver.pid
  [[ -f $pid ]] && kill "$(cat "$pid")" 2>/dev/null || true
}

services_start() {
  mkdir -p "$SERVICES_DIR"
  [[ $(id -u) == 0 ]] && chmod 755 "$SERVICES_DIR" "$(dirname "$SERVICES_DIR")"
  postgres_start
  redis_start
  s3_start
}

services_stop() {
  s3_stop
  redis_stop
  postgres_stop
}
