#!/usr/bin/env bash
# HTTP server throughput: wrk, 64 keep-alive connections, against c19ai (production middleware on:
# JSON access log to a file, metrics, timeouts) and against nginx serving a small static file on
# another loopback port. Prints the median of TRIALS runs of DURATION each.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${C19AI_BIN:-build/c19ai}
TRIALS=${TRIALS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-1}
work=$(mktemp -d)
port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
C_PORT=$(port); N_PORT=$(port)

mkdir -p "$work/nginx/html" "$work/nginx/logs"
printf '{"status":"ok"}' >"$work/nginx/html/health"
cat >"$work/nginx/nginx.conf" <<NGX
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log $work/nginx/logs/access.log;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$N_PORT; root $work/nginx/html; location / { default_type application/json; } }
}
NGX
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"
( cd "$work" && exec "$OLDPWD/$BIN" serve --port "$C_PORT" --data-dir "$work/data" >"$work/c19ai.log" 2>&1 ) &
C_PID=$!
cleanup() { kill "$C_PID" 2>/dev/null || true; nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -s stop 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$C_PORT/health" >/dev/null && break; sleep 0.1; done

# run URL -> "rps p50_ms p99_ms" (median by rps over TRIALS)
run() {
  local url=$1 results=()
  wrk -t"$WRK_THREADS" -c"$CONNS" -d2s "$url" >/dev/null  # warm-up
  for _ in $(seq 1 "$TRIALS"); do
    out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "$url")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    results+=("$rps $(to_ms "$p50") $(to_ms "$p99")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((TRIALS + 1) / 2))p"
}
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms/,"",v); print v+0 } else if (v ~ /s$/) { sub(/s/,"",v); print v*1000 } else print v }'; }

read -r n_rps n_p50 n_p99 <<<"$(run "http://127.0.0.1:$N_PORT/health")"
read -r h_rps h_p50 h_p99 <<<"$(run "http://127.0.0.1:$C_PORT/health")"
read -r i_rps i_p50 i_p99 <<<"$(run "http://127.0.0.1:$C_PORT/api/v1/system/info")"
printf '%-32s %12s %9s %9s %14s\n' target "requests/s" "p50 ms" "p99 ms" "ratio to nginx"
printf '%-32s %12.0f %9.3f %9.3f %14s\n' "nginx static file" "$n_rps" "$n_p50" "$n_p99" "1.00"
printf '%-32s %12.0f %9.3f %9.3f %14.2f\n' "c19ai GET /health" "$h_rps" "$h_p50" "$h_p99" "$(awk -v a="$h_rps" -v b="$n_rps" 'BEGIN{print a/b}')"
printf '%-32s %12.0f %9.3f %9.3f %14.2f\n' "c19ai GET /api/v1/system/info" "$i_rps" "$i_p50" "$i_p99" "$(awk -v a="$i_rps" -v b="$n_rps" 'BEGIN{print a/b}')"
echo "($CONNS connections, wrk -t$WRK_THREADS, median of $TRIALS x $DURATION; both servers log every request)"
