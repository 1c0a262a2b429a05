#!/usr/bin/env bash
# Training quality, throughput and job overhead, against Debian's Python stack in the same run:
#   - validation accuracy (classification) or R² (diabetes) of an MLP and of gradient-boosted trees on
#     scikit-learn's iris, wine, breast cancer, digits and diabetes, same rows and same split on both
#     sides, next to sklearn's MLPClassifier/MLPRegressor and python3-xgboost;
#   - MLP (64 → 64 → 64 → 10, Adam, batch 32) training samples/s on digits vs the same loop in PyTorch;
#   - job overhead: submit → running (the server's own timestamps), median of JOBS jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${C19AI_BIN:-build/c19ai}
JOBS=${JOBS:-10}
work=$(mktemp -d)
port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
PORT=$(port)
PASSWORD='Bench-admin-password-2026'
/usr/bin/python3 bench/peers/training_peer.py export "$work"
( cd "$work" && C19AI_ADMIN_PASSWORD=$PASSWORD exec "$OLDPWD/$BIN" serve --port "$PORT" --data-dir "$work/data" \
    --set server.access_log=false >"$work/c19ai.log" 2>&1 ) &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$BASE/health" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
H="Authorization: Bearer $TOKEN"
jq_() { /usr/bin/python3 -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
for name in iris wine breast_cancer digits diabetes; do
  curl -fs -X POST "$BASE/api/v1/datasets?name=$name" -H "$H" -H 'Content-Type: text/csv' \
    --data-binary @"$work/$name.csv" >/dev/null
done
submit() { curl -fs -X POST "$BASE/api/v1/training/jobs" -H "$H" -H 'Content-Type: application/json' -d "$1" | jq_ 'd["id"]'; }
wait_job() {
  while :; do
    local j; j=$(curl -fs "$BASE/api/v1/training/jobs/$1" -H "$H")
    local s; s=$(jq_ 'd["status"]' <<<"$j")
    if [[ $s == succeeded ]]; then echo "$j"; return; fi
    if [[ $s == failed || $s == cancelled ]]; then echo "job $1 $s: $j" >&2; exit 1; fi
    sleep 0.2
  done
}
spec() {  # dataset task architecture epochs
  local type=$2 metric=accuracy params
  [[ $type == regression ]] && metric=r2
  if [[ $3 == mlp ]]; then params='{"hidden":[64,64]}'; else params='{"num_rounds":200,"max_depth":4,"eta":0.1}'; fi
  printf '{"dataset":"%s","target":"target","epochs":%s,"batch_size":32,"model":{"model_type":"%s","architecture":"%s","params":%s},"optimizer":{"type":"adam","lr":0.001},"validation":{"split":0.2,"metric":"%s","shuffle":false},"checkpoint":{"every_epochs":0},"seed":1}' \
    "$1" "$4" "$type" "$3" "$params" "$metric"
}

echo "quality (validation split: the same last 20 % rows on both sides)"
/usr/bin/python3 bench/peers/training_peer.py reference "$work" >"$work/ref.json"
printf '%-14s %-8s %14s %14s %8s   %14s %14s %8s\n' dataset metric "c19ai mlp" "sklearn mlp" diff "c19ai xgboost" "python xgboost" diff
for name in iris wine breast_cancer digits diabetes; do
  task=$(jq_ "d['$name']['task']" <"$work/ref.json")
  epochs=200; [[ $task == regression ]] && epochs=500
  mlp=$(wait_job "$(submit "$(spec "$name" "$task" mlp "$epochs")")" | jq_ 'd["best"]["value"]')
  gbt=$(wait_job "$(submit "$(spec "$name" "$task" gbtree 1)")" | jq_ 'd["best"]["value"]')
  ref_mlp=$(jq_ "d['$name']['mlp']" <"$work/ref.json")
  ref_gbt=$(jq_ "d['$name']['gbtree']" <"$work/ref.json")
  /usr/bin/python3 - "$name" "$task" "$mlp" "$ref_mlp" "$gbt" "$ref_gbt" <<'PY'
import sys
name, task, mlp, ref_mlp, gbt, ref_gbt = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
metric = "accuracy" if task == "classification" else "r2"
print("%-14s %-8s %14.4f %14.4f %+8.3f   %14.4f %14.4f %+8.3f" % (name, metric, mlp, ref_mlp, mlp - ref_mlp, gbt, ref_gbt, gbt - ref_gbt))
PY
done

echo
echo "MLP training throughput on digits (64-64-64-10, Adam, batch 32, one thread each)"
job=$(submit "$(spec digits classification mlp 30)")
wait_job "$job" >/dev/null
ours=$(curl -fs "$BASE/api/v1/training/jobs/$job/metrics" -H "$H" | jq_ 'sorted(m["samples_per_s"] for m in d["items"])[len(d["items"])//2]')
theirs=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peers/training_peer.py throughput "$work" 30 | jq_ 'd["samples_per_s"]')
foreach=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peers/training_peer.py throughput "$work" 30 foreach | jq_ 'd["samples_per_s"]')
/usr/bin/python3 -c "print('c19ai                    %.0f samples/s (median epoch)\nPyTorch, default Adam    %.0f samples/s (same loop, Debian python3-torch) -> %.2fx\nPyTorch, foreach Adam    %.0f samples/s -> %.2fx' % ($ours, $theirs, $ours / $theirs, $foreach, $ours / $foreach))"

echo
echo "job overhead, submit -> running (median of $JOBS, from the job's created_at and started_at)"
for _ in $(seq 1 "$JOBS"); do
  id=$(submit "$(spec iris classification mlp 1)")
  wait_job "$id" | jq_ 'd["created_at"] + " " + d["started_at"]'
done | /usr/bin/python3 -c '
import sys, datetime, statistics
p = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
ms = [(p(b) - p(a)).total_seconds() * 1000 for a, b in (l.split() for l in sys.stdin)]
print("median %.0f ms, max %.0f ms" % (statistics.median(ms), max(ms)))'
