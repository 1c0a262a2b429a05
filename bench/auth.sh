#!/usr/bin/env bash
# Token verification cost: wrk on an authenticated GET /api/v1/auth/me next to the unauthenticated
# GET /health (same server, same settings, production Argon2id defaults), and the cost of a login.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${C19AI_BIN:-build/c19ai}
TRIALS=${TRIALS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-1}
work=$(mktemp -d)
PORT=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()')
PASSWORD='Bench-admin-password-2026'
( cd "$work" && C19AI_ADMIN_PASSWORD=$PASSWORD exec "$OLDPWD/$BIN" serve --port "$PORT" --data-dir "$work/data" \
    >"$work/c19ai.log" 2>&1 ) &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"

login_ms=$(/usr/bin/python3 - "$PORT" "$PASSWORD" <<'PY'
import http.client, json, sys, time
port, pw = int(sys.argv[1]), sys.argv[2]
times = []
for _ in range(10):
    c = http.client.HTTPConnection("127.0.0.1", port)
    t = time.perf_counter()
    c.request("POST", "/api/v1/auth/login", json.dumps({"username": "admin", "password": pw}), {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    times.append((time.perf_counter() - t) * 1000)
    assert r.status == 200, r.status
times.sort()
print("%.1f" % times[len(times) // 2])
PY
)
TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')

to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms/,"",v); print v+0 } else if (v ~ /s$/) { sub(/s/,"",v); print v*1000 } else print v }'; }
run() {
  local results=()
  wrk -t"$WRK_THREADS" -c"$CONNS" -d2s "$@" >/dev/null
  for _ in $(seq 1 "$TRIALS"); do
    out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "$@")
    results+=("$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")") $(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((TRIALS + 1) / 2))p"
}
read -r h_rps h_p50 h_p99 <<<"$(run "$BASE/health")"
read -r m_rps m_p50 m_p99 <<<"$(run -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/auth/me")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/auth/me")
[[ $code == 200 ]] || { echo "auth/me answered $code"; exit 1; }
printf '%-36s %12s %9s %9s\n' target "requests/s" "p50 ms" "p99 ms"
printf '%-36s %12.0f %9.3f %9.3f\n' "GET /health (no auth)" "$h_rps" "$h_p50" "$h_p99"
printf '%-36s %12.0f %9.3f %9.3f\n' "GET /api/v1/auth/me (Bearer JWT)" "$m_rps" "$m_p50" "$m_p99"
printf 'auth/me / health = %.2f (target >= 0.80)\n' "$(awk -v a="$m_rps" -v b="$h_rps" 'BEGIN{print a/b}')"
printf 'login (Argon2id 64 MiB, 3 passes), median of 10: %s ms\n' "$login_ms"
