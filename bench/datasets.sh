#!/usr/bin/env bash
# Datasets: validation + profiling of a generated SIZE_MB (default 1024) MB CSV with 10 mixed columns
# (bench/peers/datasets_gen.py) against bench/datasets_schema.json (10 fields, 18 rules).
#  1. the engine in one process (build/bench/c19ai_bench_datasets: SQLite, local blobs): ingest, validate,
#     validate + profile in one pass, and the process's peak RSS;
#  2. through the server: upload with curl, then POST .../validate {profile: true}, the server's RSS
#     sampled during the pass;
#  3. the pandas peer (bench/peers/datasets_pandas.py) on the same file, same rules and profile.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${C19AI_BIN:-build/c19ai}; [[ $BIN == /* ]] || BIN=$PWD/$BIN
ENGINE=${C19AI_BENCH_DATASETS:-build/bench/c19ai_bench_datasets}; [[ $ENGINE == /* ]] || ENGINE=$PWD/$ENGINE
SIZE_MB=${SIZE_MB:-1024}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
sample_rss() { local max=0 v; while v=$(rss_kb "$1" 2>/dev/null); do ((v > max)) && max=$v; echo "$max" >"$2"; sleep 0.05; done; }
PASSWORD='Bench-admin-password-2026'

csv=$work/data.csv
/usr/bin/python3 bench/peers/datasets_gen.py "$csv" "$SIZE_MB"
mb=$(awk -v s="$(stat -c %s "$csv")" 'BEGIN{printf "%.0f", s/1e6}')
echo "file: $mb MB, $(($(wc -l <"$csv") - 1)) lines, 10 columns"

echo "-- engine (one process)"
"$ENGINE" "$csv" bench/datasets_schema.json "$work/engine"

echo "-- server (HTTP)"
port=$(free_port)
( cd "$work" && C19AI_ADMIN_PASSWORD=$PASSWORD exec "$BIN" serve --port "$port" --data-dir "$work/data" \
    --set validation.inline_max_size=1TiB >"$work/log" 2>&1 ) &
pid=$!
pids+=("$pid")
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -fs "$base/health" >/dev/null && break; sleep 0.1; done
token=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
t0=$(date +%s.%N)
curl -fs -o "$work/up.json" -X POST "$base/api/v1/datasets?name=bench" -H "Authorization: Bearer $token" \
  -H 'Content-Type: text/csv' -T "$csv"
t1=$(date +%s.%N)
echo "upload (stream, parse, profile, store): $(awk -v s="$mb" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f s, %.0f MB/s", b-a, s/(b-a)}')"
/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({"schema": s, "profile": True}))' \
  bench/datasets_schema.json >"$work/body.json"
base_rss=$(rss_kb "$pid")
sample_rss "$pid" "$work/rss" & sampler=$!
t0=$(date +%s.%N)
curl -fs -o "$work/report.json" -X POST "$base/api/v1/datasets/bench/validate" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d @"$work/body.json"
t1=$(date +%s.%N)
kill "$sampler"; wait "$sampler" 2>/dev/null || true
peak=$(cat "$work/rss")
/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
s = r["statistics"]
print("report: %d rows, %d failures in %d rules, quality score %.1f, profile of %d columns" % (
    s["rows"], s["error_count"] + s["warning_count"], len(s["rules"]), r["quality_score"], len(r["profile"]["columns"])))' "$work/report.json"
echo "validate + profile over HTTP: $(awk -v s="$mb" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f s, %.0f MB/s", b-a, s/(b-a)}'); server RSS $((base_rss / 1024)) MB before, peak $((peak / 1024)) MB (+$(((peak - base_rss) / 1024)) MB)"
server_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')

echo "-- pandas peer"
peer=$(/usr/bin/python3 bench/peers/datasets_pandas.py "$csv")
echo "$peer"
peer_s=$(sed -n 's/.*validate + profile \([0-9.]*\) s.*/\1/p' <<<"$peer")
echo "ratio (server validate + profile vs pandas): $(awk -v a="$peer_s" -v b="$server_s" 'BEGIN{printf "%.1fx", a/b}')"
