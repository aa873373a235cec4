#!/usr/bin/env bash
# `make bench`: every benchmark in turn; each prints its table and writes bench/results/*.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
echo "== simulator throughput (bench/sim_throughput.sh)"
bench/sim_throughput.sh "$BUILD"
