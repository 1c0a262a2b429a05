#!/usr/bin/env bash
# WebSocket: hold N (default 10,000) authenticated connections subscribed to one room, report the
# server's RSS, and broadcast to all of them, timing each client's receipt (Node `ws` load client).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
ulimit -n "$(ulimit -Hn)"  # raise the soft limit as far as allowed (each side needs N descriptors)
(cd bench/ws && [[ -d node_modules/ws ]] || npm install --no-audit --no-fund --loglevel=error >/dev/null)
work=$(mktemp -d)
PORT=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()')
PASSWORD='Bench-admin-password-2026'
( cd "$work" && C19AI_ADMIN_PASSWORD=$PASSWORD exec "$OLDPWD/build/c19ai" serve --port "$PORT" --data-dir "$work/data" \
    --set realtime.max_connections_per_user=$((N + 100)) --set server.max_connections=$((N + 1000)) \
    --set server.access_log=false >"$work/log" 2>&1 ) &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -fs -X POST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
base_rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
node bench/ws/load.mjs "$PORT" "$TOKEN" "$N" 5 | while IFS= read -r line; do
  if [[ $line == READY ]]; then
    rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
    echo "server RSS with the connections open: $((rss / 1024)) MB (was $((base_rss / 1024)) MB idle)"
  else
    echo "$line"
  fi
done
