#!/usr/bin/env bash
# Configures and builds into build/ (Ninja, ccache when present), then the web console into web/dist
# (scripts/build-web.sh: npm ci + vite build, skipped when up to date). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
type=${C19AI_BUILD_TYPE:-RelWithDebInfo}
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
fi
# Two parallel jobs: LibTorch translation units need ~1.4 GB each.
cmake --build build --parallel "${C19AI_BUILD_JOBS:-2}"
if [[ -f web/package.json ]]; then scripts/build-web.sh; fi
