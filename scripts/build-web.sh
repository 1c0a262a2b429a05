#!/usr/bin/env bash
# Builds the web console into web/dist: `npm ci` when package-lock.json changed, then `npm run build`
# (OpenAPI types from docs/openapi.json, typecheck, vite build) when any input changed. Idempotent; well
# under a second when everything is up to date. C19AI_WEB_FORCE=1 rebuilds anyway.
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! command -v npm >/dev/null; then
  echo "build-web: npm is missing (scripts/install-deps.sh installs nodejs and npm)" >&2
  exit 1
fi
deps_stamp=node_modules/.c19ai-lock
if [[ ! -f $deps_stamp ]] || ! cmp -s package-lock.json "$deps_stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$deps_stamp"
fi
# Everything the build reads (src/api/schema.gen.ts is generated from docs/openapi.json, so it is left out).
inputs=$(find src public index.html package.json package-lock.json tsconfig.json vite.config.ts ../docs/openapi.json \
           -type f ! -name schema.gen.ts -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
build_stamp=node_modules/.c19ai-build
if [[ ${C19AI_WEB_FORCE:-} != 1 && -f dist/index.html && -f $build_stamp && $(cat "$build_stamp") == "$inputs" ]]; then
  exit 0
fi
npm run --silent build
echo "$inputs" > "$build_stamp"
