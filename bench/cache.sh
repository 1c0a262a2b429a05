#!/usr/bin/env bash
# Cache benchmarks: the in-process cache (Google Benchmark), then the Redis backend with pipelining
# next to redis-benchmark on the same server (started here on a free loopback port).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "-- memory cache (10,000 keys: cache-resident hot set; 1,000,000 keys: DRAM-bound) --"
build/bench/c19ai_bench_cache --benchmark_min_time=2 2>/dev/null | grep -E "^BM_" |
  sed -E 's/ +[0-9.]+ ns +[0-9.]+ ns +[0-9]+//'

work=$(mktemp -d)
PORT=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile "$work/r.pid" \
  --logfile "$work/r.log" --dir "$work"
trap 'kill $(cat "$work/r.pid") 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "-- Redis: c19ai client (4 threads, pipelines of 16) vs redis-benchmark (4 clients, -P 16) --"
ours=$(build/bench/c19ai_bench_redis "redis://127.0.0.1:$PORT" 4 16 5)
echo "$ours" | sed 's/^/c19ai           /'
ref=$(redis-benchmark -p "$PORT" -c 4 -P 16 -n 2000000 -d 3 -r 100000 -t set,get -q 2>/dev/null | tr '\r' '\n' |
  grep "requests per second")
echo "$ref" | sed 's/^/redis-benchmark /'
our_get=$(awk '/^GET/ {print $2}' <<<"$ours"); ref_get=$(awk '/^GET:/ {print $2}' <<<"$ref")
our_set=$(awk '/^SET/ {print $2}' <<<"$ours"); ref_set=$(awk '/^SET:/ {print $2}' <<<"$ref")
awk -v a="$our_get" -v b="$ref_get" -v c="$our_set" -v d="$ref_set" \
  'BEGIN { printf "ratio to redis-benchmark: GET %.2f, SET %.2f (target >= 0.5)\n", a/b, c/d }'
