#!/usr/bin/env bash
# Queue throughput (publish + consume + ack, batches of 100, 2 consumers) on SQLite, PostgreSQL and
# Redis Streams, with redis-benchmark's raw XADD rate on the same Redis for reference.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
work=$(mktemp -d)
SERVICES_DIR=$work/services
source scripts/services.sh
mkdir -p "$SERVICES_DIR"
[[ $(id -u) == 0 ]] && chmod 755 "$SERVICES_DIR" "$work"
trap 'redis_stop; postgres_stop; rm -rf "$work"' EXIT
postgres_start >/dev/null
redis_start >/dev/null
build/bench/c19ai_bench_queue "sqlite://$work/queue.db" "$N" 100 2 | sed 's/^db:/sqlite:/'
build/bench/c19ai_bench_queue "$C19AI_TEST_POSTGRES_URL" "$N" 100 2 | sed 's/^db:/postgresql:/'
build/bench/c19ai_bench_queue "$C19AI_TEST_REDIS_URL" "$N" 100 2
ref=$(redis-benchmark -p "$REDIS_PORT" -n "$N" -P 100 -q XADD c19ai:bench:ref '*' m xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 2>/dev/null |
  tr '\r' '\n' | grep "requests per second" | tail -1)
echo "reference, redis-benchmark XADD alone (publish only, pipelined 100): $ref"
