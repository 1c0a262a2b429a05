#!/usr/bin/env bash
# Installs the Debian packages C19 AI needs that are missing. Idempotent; a no-op (well under a
# second) when everything is present.
#   scripts/install-deps.sh build   # compile and run the server
#   scripts/install-deps.sh test    # + servers, peers and tools the tests and benchmarks use
set -euo pipefail
profile=${1:-build}

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev nlohmann-json3-dev libsqlite3-dev libpq-dev libhiredis-dev libsodium-dev libssl-dev
  libcurl4-openssl-dev libspdlog-dev libcli11-dev libtomlplusplus-dev libre2-dev
  libtorch-dev libopenblas0-pthread libxgboost-dev libopencv-dev libhnswlib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
test_pkgs=(
  postgresql redis-server nginx wrk curl
  python3 python3-torch python3-sklearn python3-pandas python3-scipy python3-xgboost
  python3-fastapi python3-uvicorn
  chromium
)

pkgs=("${build_pkgs[@]}")
[[ $profile == test ]] && pkgs+=("${test_pkgs[@]}")

missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null | awk '$4 == "installed" {print $1}' || true)
for p in "${pkgs[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done
# Node.js may come from elsewhere (NodeSource bundles npm and conflicts with Debian's npm package):
# only ask Debian for it when the commands are missing.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "installing: ${missing[*]}"
sudo=""
if [[ $(id -u) != 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The PostgreSQL package starts a cluster on 5432 we do not use; tests start their own.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null; then
  $sudo pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
fi
