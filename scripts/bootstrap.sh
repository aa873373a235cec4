#!/usr/bin/env bash
# Installs the Debian packages kisgate needs to build and test. Idempotent: when everything is
# present it only checks and returns; `apt-get update` runs only when something is missing.
#
#   scripts/bootstrap.sh            build + test dependencies
#   scripts/bootstrap.sh --bench    also what `make bench` needs
#   scripts/bootstrap.sh --clients  also what tests/clients/real_clients.py runs the public KIS
#                                   clients with
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libssl-dev libsqlite3-dev libpq-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server libhiredis-dev
  openssl curl python3 python3-requests python3-websockets
  postgresql
  libjs-chart.js chromium nodejs
  clang-format clang-tidy
  systemd prometheus python3-yaml
)
# postgresql: tests start a throw-away server (initdb/pg_ctl in a temp dir) for the PostgreSQL
# store; libpq-dev is its client library.
# clang-format and clang-tidy (14 on Debian 12) are for scripts/lint.sh (make lint, make format).
# tests/deploy checks the deployment files with the tools that read them: systemd-analyze
# (systemd) and promtool (prometheus: Debian ships promtool only with the server, 96 MB; in a
# container policy-rc.d keeps the server from starting, on a host with systemd running the package
# enables it on :9090); python3-yaml reads the alert rules.
# The dashboard embeds libjs-chart.js; tests/browser drives chromium from Node.js. npm comes
# from Debian unless the installed nodejs already has it (NodeSource's does, and conflicts with
# Debian's npm package).
if ! command -v npm > /dev/null; then
  packages+=(npm)
fi
# linux-perf: bench/collect_profile.sh's PERF=1 (the collection path's profile).
# tests/multi starts its own redis-server and PostgreSQL 15 (initdb/pg_ctl in a temporary folder).
packages+=(redis-server postgresql)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(wrk gnuplot-nox util-linux time python3-httpx nginx linux-perf) ;;
    # tests/clients/real_clients.py: what KIS's official samples and python-kis import.
    --clients) packages+=(python3-pandas python3-yaml python3-requests python3-websockets
                          python3-pycryptodome python3-websocket python3-cryptography
                          python3-colorlog python3-typing-extensions) ;;
    *) echo "bootstrap: unknown option '$arg' (known: --bench, --clients)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
