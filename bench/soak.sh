#!/usr/bin/env bash
# The fault soak for 10 minutes (tests/soak/fault_soak.py, which ctest runs for 45 s): kisgate serve
# with the demo's jobs and API traffic against kisgate sim with 5 % disconnects, errors and slow
# replies, the simulator restarted midway. Writes bench/results/soak.md.
#   bench/soak.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DURATION=${2:-600}
/usr/bin/python3 tests/soak/fault_soak.py "$BUILD/kisgate" --duration "$DURATION" --report bench/results/soak.md
