#!/usr/bin/env bash
# Installs what is missing, builds, and starts the server on the embedded defaults
# (SQLite, local blobs, in-process cache/queue/events; data under ./c19ai-data; http://127.0.0.1:8080).
# Extra arguments go to `c19ai serve`, e.g. ./run.sh --port 9000
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh build
scripts/build.sh
if [[ -f web/package.json ]] && command -v npm >/dev/null; then scripts/build-web.sh; fi
exec build/c19ai serve "$@"
