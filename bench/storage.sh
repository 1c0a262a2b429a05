#!/usr/bin/env bash
# Storage through the HTTP API: SIZE_MB (default 1024) MiB uploads and downloads with curl (median of
# three each), the server's RSS sampled during the transfers, then small-file puts with wrk (1 KiB
# bodies, 16 connections, distinct keys). First on the local backend, then on S3 (s3rver, started here).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/${C19AI_BIN:-build/c19ai}
SIZE_MB=${SIZE_MB:-1024}
S3_SIZE_MB=${S3_SIZE_MB:-$SIZE_MB}
work=$(mktemp -d)
SERVICES_DIR=$work/services
source scripts/services.sh
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; s3_stop; rm -rf "$work"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
PASSWORD='Bench-admin-password-2026'

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$work/big.bin"
head -c $((S3_SIZE_MB * 1024 * 1024)) "$work/big.bin" >"$work/big-s3.bin"

median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# sample_rss PID OUTFILE: records the maximum RSS until killed
sample_rss() { local max=0 v; while v=$(rss_kb "$1" 2>/dev/null); do ((v > max)) && max=$v; echo "$max" >"$2"; sleep 0.05; done; }

run_backend() {
  local name=$1 file=$2; shift 2
  local port; port=$(free_port)
  mkdir -p "$work/$name"
  ( cd "$work/$name" && C19AI_ADMIN_PASSWORD=$PASSWORD C19AI_S3_ACCESS_KEY=S3RVER C19AI_S3_SECRET_KEY=S3RVER \
      exec "$BIN" serve --port "$port" --data-dir "$work/$name/data" "$@" >"$work/$name/log" 2>&1 ) &
  local pid=$!
  pids+=("$pid")
  local base=http://127.0.0.1:$port
  for _ in $(seq 1 100); do curl -fs "$base/health" >/dev/null && break; sleep 0.1; done
  local token
  token=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
  local size_mb=$(( $(stat -c %s "$file") / 1024 / 1024 ))
  local base_rss; base_rss=$(rss_kb "$pid")

  sample_rss "$pid" "$work/rss.up" & local sampler=$!
  local t0 t1 ups=()
  for trial in 1 2 3; do
    t0=$(date +%s.%N)
    curl -fs -o /dev/null -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
      -T "$file" "$base/api/v1/files/bench/big-$trial.bin"
    t1=$(date +%s.%N)
    ups+=("$(awk -v s="$size_mb" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", s/(b-a)}')")
  done
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  local up; up=$(printf '%s\n' "${ups[@]}" | sort -n | sed -n 2p)
  local up_rss=$(( ($(cat "$work/rss.up") - base_rss) / 1024 ))
  sync; sleep 3  # let the uploads' write-back finish: reads measured during it measure the disk queue

  base_rss=$(rss_kb "$pid")
  sample_rss "$pid" "$work/rss.down" & sampler=$!
  timed_get() {  # KEY -> MB/s
    local a b
    a=$(date +%s.%N)
    curl -fs -o /dev/null -H "Authorization: Bearer $token" "$base/api/v1/files/bench/$1"
    b=$(date +%s.%N)
    awk -v s="$size_mb" -v a="$a" -v b="$b" 'BEGIN{printf "%.0f", s/(b-a)}'
  }
  local cold warm disk="-"
  cold=$(timed_get big-1.bin)                                   # never read since its upload: from disk
  warm=$(median3 "$(timed_get big-1.bin)" "$(timed_get big-1.bin)" "$(timed_get big-1.bin)")  # page cache
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  if [[ $name == local ]]; then  # the disk itself, on another never-read blob of the same size
    local blob
    blob=$(find "$work/$name/data/blobs/files/blobs" -type f -size +$((size_mb / 2))M -printf '%T@ %p\n' | sort -n | sed -n 3p | cut -d' ' -f2)
    disk=$(dd if="$blob" of=/dev/null bs=1M 2>&1 | awk '/copied/ {print $(NF-1)}')
  fi
  # The bytes are checked outside the timed transfer (sha256sum is slower than the transfer).
  local sum
  sum=$(curl -fs -H "Authorization: Bearer $token" "$base/api/v1/files/bench/big-1.bin" | sha256sum | cut -c1-64)
  [[ $sum == $(sha256sum "$file" | cut -c1-64) ]] || { echo "downloaded bytes differ"; exit 1; }
  local down_rss=$(( ($(cat "$work/rss.down") - base_rss) / 1024 ))

  cat >"$work/put.lua" <<LUA
local counter = 0
local body = string.rep("x", 1024)
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/api/v1/files/small/" .. tostring(math.random(1, 1e9)) .. "-" .. counter,
    {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/octet-stream"}, body)
end
LUA
  local puts
  puts=$(wrk -t1 -c16 -d8s -s "$work/put.lua" "$base" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  printf '%-6s %d MiB upload %s MB/s (RSS +%s MB) | download cold %s MB/s (dd from disk: %s MB/s), warm %s MB/s (RSS +%s MB) | 1 KiB puts %s/s\n' \
    "$name" "$size_mb" "$up" "$up_rss" "$cold" "$disk" "$warm" "$down_rss" "$puts"
}

run_backend local "$work/big.bin"
s3_start >/dev/null
run_backend s3 "$work/big-s3.bin" --storage "$C19AI_TEST_S3_URL&part_size=16MiB&read_chunk=16MiB"
