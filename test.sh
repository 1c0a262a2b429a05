#!/usr/bin/env bash
# Installs what is missing, builds, starts the servers the tests need on loopback ports (PostgreSQL,
# Redis, an S3-compatible server), runs every test, and stops the servers again, also on failure.
#   ./test.sh                 # everything
#   ./test.sh -R integration  # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh test
scripts/build.sh
if [[ -f web/package.json ]]; then scripts/build-web.sh; fi

source scripts/services.sh
trap services_stop EXIT
services_start

export C19AI_TEST_REQUIRE_SERVERS=1
export C19AI_BIN="$PWD/build/c19ai"
ctest --test-dir build --output-on-failure --timeout 900 -j "${C19AI_TEST_JOBS:-2}" "$@"
