#!/usr/bin/env bash
# Builds the web console into web/dist (npm ci + vite build), skipping both when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../web"
stamp=node_modules/.c19ai-lock
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
npm run --silent build
