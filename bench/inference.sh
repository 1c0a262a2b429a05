#!/usr/bin/env bash
# Inference throughput and latency with wrk (single-row JSON predictions, keep-alive connections):
#   - a TorchScript MLP 64→128→10 at 1, 16 and 64 connections, batching on and off, native and V2;
#   - an XGBoost classifier trained on scikit-learn's breast-cancer data;
#   - the same MLP behind FastAPI + uvicorn (2 workers) + torch from Debian (bench/peers/), same run.
# Every response is checked: any non-2xx answer fails the benchmark. Prints the median of TRIALS.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${C19AI_BIN:-build/c19ai}
TRIALS=${TRIALS:-3}
DURATION=${DURATION:-8s}
WRK_THREADS=${WRK_THREADS:-1}
work=$(mktemp -d)
port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
PORT=$(port)
PEER_PORT=$(port)
PASSWORD='Bench-admin-password-2026'
/usr/bin/python3 bench/peers/make_models.py "$work"

( cd "$work" && C19AI_ADMIN_PASSWORD=$PASSWORD exec "$OLDPWD/$BIN" serve --port "$PORT" --data-dir "$work/data" \
    --set server.access_log=false ${C19AI_ARGS:-} >"$work/c19ai.log" 2>&1 ) &
PID=$!
( cd bench/peers && C19AI_PEER_MODEL="$work/mlp.pt" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    exec /usr/bin/python3 -m uvicorn fastapi_server:app --workers 2 --port "$PEER_PORT" --log-level warning \
    --no-access-log >"$work/peer.log" 2>&1 ) &
PEER=$!
cleanup() { kill "$PID" "$PEER" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$BASE/health" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
H="Authorization: Bearer $TOKEN"
SIG='{"signature":{"inputs":[{"name":"input","datatype":"FP32","shape":[-1,64]}],"outputs":[{"name":"output","datatype":"FP32","shape":[-1,10]}]}}'
register() {  # name framework file [metadata]
  curl -fs -X POST "$BASE/api/v1/models" -H "$H" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"model_type\":\"classification\",\"framework\":\"$2\"}" >/dev/null
  curl -fs -X POST "$BASE/api/v1/models/$1/versions" -H "$H" -F "artifact=@$3" \
    ${4:+-F "metadata=$4;type=application/json"} >/dev/null
  curl -fs -X POST "$BASE/api/v1/models/$1/versions/1/stage" -H "$H" -H 'Content-Type: application/json' \
    -d '{"stage":"production"}' >/dev/null
}
register mlp torchscript "$work/mlp.pt" "$SIG"
register mlp-nobatch torchscript "$work/mlp.pt" "$SIG"
register xgb xgboost "$work/xgb.json"
curl -fs -X POST "$BASE/api/v1/models/mlp-nobatch/deploy" -H "$H" -H 'Content-Type: application/json' \
  -d '{"batching":{"enabled":false}}' >/dev/null
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PEER_PORT/docs" >/dev/null && break; sleep 0.2; done

MLP_ROW=$(cat "$work/mlp_row.json")
XGB_ROW=$(cat "$work/xgb_row.json")
lua() {  # file body [auth]
  printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' "'$2'" >"$1"
  if [[ -n ${3:-} ]]; then printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$TOKEN" >>"$1"; fi
}
lua "$work/mlp.lua" "{\"inputs\":[$MLP_ROW]}" auth
lua "$work/v2.lua" "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,64],\"datatype\":\"FP32\",\"data\":$MLP_ROW}]}" auth
lua "$work/xgb.lua" "{\"inputs\":[$XGB_ROW]}" auth
lua "$work/peer.lua" "{\"inputs\":[$MLP_ROW]}"

to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms/,"",v); print v+0 } else if (v ~ /s$/) { sub(/s/,"",v); print v*1000 } else print v }'; }
# run CONNS SCRIPT URL -> "rps p50_ms p99_ms" (median by rps over TRIALS); fails on any non-2xx answer
run() {
  local conns=$1 script=$2 url=$3 results=()
  wrk -t"$WRK_THREADS" -c"$conns" -d2s -s "$script" "$url" >/dev/null
  for _ in $(seq 1 "$TRIALS"); do
    out=$(wrk -t"$WRK_THREADS" -c"$conns" -d"$DURATION" --latency -s "$script" "$url")
    if grep -q "Non-2xx" <<<"$out"; then echo "error answers from $url:" >&2; echo "$out" >&2; exit 1; fi
    results+=("$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")") $(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((TRIALS + 1) / 2))p"
}
row() { printf '%-46s %6s %12.0f %9.3f %9.3f\n' "$1" "$2" "$3" "$4" "$5"; }

# Sanity: both servers answer the same numbers for the same row.
ours=$(curl -fs -X POST "$BASE/api/v1/models/mlp/predict" -H "$H" -H 'Content-Type: application/json' -d "{\"inputs\":[$MLP_ROW]}")
theirs=$(curl -fs -X POST "http://127.0.0.1:$PEER_PORT/predict" -H 'Content-Type: application/json' -d "{\"inputs\":[$MLP_ROW]}")
/usr/bin/python3 -c 'import json,sys; a=json.loads(sys.argv[1])["outputs"][0]; b=json.loads(sys.argv[2])["outputs"][0]; assert all(abs(x-y)<1e-4 for x,y in zip(a,b)), (a,b)' "$ours" "$theirs"

printf '%-46s %6s %12s %9s %9s\n' target conns "requests/s" "p50 ms" "p99 ms"
declare -A rps p99
for c in 1 16 64; do
  out=$(run "$c" "$work/mlp.lua" "$BASE/api/v1/models/mlp/predict") || exit 1; read -r r p50 p <<<"$out"
  row "c19ai MLP, native, batching on" "$c" "$r" "$p50" "$p"; rps[mlp$c]=$r; p99[mlp$c]=$p
done
for c in 1 16 64; do
  out=$(run "$c" "$work/peer.lua" "http://127.0.0.1:$PEER_PORT/predict") || exit 1; read -r r p50 p <<<"$out"
  row "FastAPI + uvicorn (2 workers) + torch" "$c" "$r" "$p50" "$p"; rps[peer$c]=$r; p99[peer$c]=$p
done
out=$(run 64 "$work/mlp.lua" "$BASE/api/v1/models/mlp-nobatch/predict") || exit 1; read -r r p50 p <<<"$out"
row "c19ai MLP, native, batching off" 64 "$r" "$p50" "$p"; rps[nobatch]=$r
out=$(run 64 "$work/v2.lua" "$BASE/v2/models/mlp/infer") || exit 1; read -r r p50 p <<<"$out"
row "c19ai MLP, V2 infer, batching on" 64 "$r" "$p50" "$p"; rps[v2]=$r
for c in 1 64; do
  out=$(run "$c" "$work/xgb.lua" "$BASE/api/v1/models/xgb/predict") || exit 1; read -r r p50 p <<<"$out"
  row "c19ai XGBoost (breast cancer, 100 trees)" "$c" "$r" "$p50" "$p"
done
batch=$(curl -fs "$BASE/metrics" -H "$H" | awk -F'[ {}]' '/^c19ai_inference_batch_size_(sum|count)\{model="mlp"/ {v[$1]=$NF} END {if (v["c19ai_inference_batch_size_count"]) printf "%.1f", v["c19ai_inference_batch_size_sum"]/v["c19ai_inference_batch_size_count"]}')
echo "speed-up over FastAPI at 64 connections: $(awk -v a="${rps[mlp64]}" -v b="${rps[peer64]}" 'BEGIN{printf "%.1f", a/b}')x (p99 ${p99[mlp64]} ms vs ${p99[peer64]} ms)"
echo "batching gain at 64 connections: $(awk -v a="${rps[mlp64]}" -v b="${rps[nobatch]}" 'BEGIN{printf "%.2f", a/b}')x; mean rows per model call (mlp): ${batch:-?}"
echo "V2 / native at 64 connections: $(awk -v a="${rps[v2]}" -v b="${rps[mlp64]}" 'BEGIN{printf "%.2f", a/b}')"
echo "(wrk -t$WRK_THREADS, median of $TRIALS x $DURATION; c19ai with its access log off, metrics on)"
