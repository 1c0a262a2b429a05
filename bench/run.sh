#!/usr/bin/env bash
# Runs the benchmarks and prints their figures.
#   bench/run.sh            # all of them
#   bench/run.sh http       # one: http
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
scripts/install-deps.sh test
scripts/build.sh >/dev/null
which=${1:-all}
for b in http auth cache storage queue websocket inference datasets training; do
  if [[ $which == all || $which == "$b" ]]; then
    echo "== $b =="
    bash "$here/$b.sh"
  fi
done
