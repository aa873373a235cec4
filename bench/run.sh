#!/usr/bin/env bash
# `make bench`: every benchmark in turn; each prints its table and writes bench/results/, and
# those that `make bench-quick` compares with and the README shows record their figures, the
# commit and the date in bench/results/summary.json (bench/summary.py). Then the README's
# performance tables are rendered from it (bench/readme.py).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
echo "== simulator throughput (bench/sim_throughput.sh)"
bench/sim_throughput.sh "$BUILD"
echo
echo "== the gate against the simulator (build/bench/gate_bench)"
at=$(/usr/bin/python3 bench/summary.py commit)
"$BUILD/bench/gate_bench" --runs "${RUNS:-3}" --out bench/results/gate.md --data bench/results/data --json "$figures"
/usr/bin/python3 bench/summary.py record gate --report bench/results/gate.md --commit "$at" --build "$BUILD" --from "$figures" \
  --measured-by "build/bench/gate_bench --runs ${RUNS:-3}"
gnuplot bench/plot_gate.gp && echo "plots: bench/results/gate_calls_per_second.png bench/results/gate_interactive_wait.png"
echo
echo "== store writes, collected records and stream trades: SQLite and PostgreSQL side by side (build/bench/store_bench)"
at=$(/usr/bin/python3 bench/summary.py commit)
"$BUILD/bench/store_bench" --runs "${RUNS:-5}" --trades 200000 --batch 100 --out bench/results/store.md --json "$figures"
/usr/bin/python3 bench/summary.py record store --report bench/results/store.md --commit "$at" --build "$BUILD" --from "$figures" \
  --measured-by "build/bench/store_bench --runs ${RUNS:-5} --trades 200000 --batch 100"
echo
echo "== admission overhead per call: local budget vs shared through Redis (build/bench/admission_bench)"
at=$(/usr/bin/python3 bench/summary.py commit)
"$BUILD/bench/admission_bench" --runs "${RUNS:-3}" --out bench/results/admission.md --json "$figures"
/usr/bin/python3 bench/summary.py record admission --report bench/results/admission.md --commit "$at" --build "$BUILD" \
  --from "$figures" --measured-by "build/bench/admission_bench --runs ${RUNS:-3}"
echo
echo "== the real-time path: simulator -> kisgate -> SSE clients at 2,000 trades/s (build/bench/stream_bench)"
at=$(/usr/bin/python3 bench/summary.py commit)
"$BUILD/bench/stream_bench" --runs "${RUNS:-3}" --seconds 10 --out bench/results/stream_e2e.md --json "$figures"
/usr/bin/python3 bench/summary.py record stream --report bench/results/stream_e2e.md --commit "$at" --build "$BUILD" --from "$figures" \
  --measured-by "build/bench/stream_bench --runs ${RUNS:-3} --seconds 10"
echo
echo "== 3 instances on one key, shared through Redis and uncoordinated (bench/multi_bench.py)"
/usr/bin/python3 bench/multi_bench.py "$BUILD/kisgate" --out bench/results/multi.md
echo
echo "== collection against the simulator (bench/collect_bench.sh)"
bench/collect_bench.sh "$BUILD"
echo
echo "== the HTTP API: cached reads against nginx, user requests while a batch saturates the key (bench/api_bench.sh)"
bench/api_bench.sh "$BUILD"
echo
echo "== kisgate against the design it replaces (bench/compare/compare.py: bench/results/REPORT.md)"
/usr/bin/python3 bench/compare/compare.py --build "$BUILD" --runs "${RUNS:-3}"
echo
echo "== the fault soak for 10 minutes (bench/soak.sh: bench/results/soak.md)"
bench/soak.sh "$BUILD"
echo
echo "== the README's performance tables from bench/results/summary.json (bench/readme.py)"
/usr/bin/python3 bench/readme.py
