#!/usr/bin/env bash
# CPU of the collection path (issue 22): the seed workload (53 codes x 4 data sets = 212 calls, one
# key at 18/s) by `kisgate collect --once` against a separately started `kisgate sim`, the CPU time
# (user + system) of the kisgate process alone, per 1,000 calls the simulator saw.
#
#   bench/collect_profile.sh [BUILD_DIR]            RUNS runs (3), one line each, then the medians
#   PERF=1 bench/collect_profile.sh [BUILD_DIR]     also one run under `perf record -g` (then its
#                                                   top entries by self time) and one under
#                                                   `perf stat` (context switches, syscalls)
#
# The perf runs are extra runs: perf's own cost is not in the CPU figures.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${RUNS:-3}
TOP=${TOP:-25}
tmp=$(mktemp -d)
sim_pid=""
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

printf '%s\n' 005930 000660 373220 207940 005380 000270 068270 035420 035720 051910 006400 105560 \
  055550 012330 028260 066570 003550 096770 017670 030200 032830 086790 316140 010130 005490 \
  009150 018260 034730 015760 033780 003670 011200 010950 024110 259960 323410 352820 042700 \
  012450 329180 009540 047050 010140 000810 138040 247540 086520 196170 028300 293490 263750 \
  058470 145020 > "$tmp/universe.txt"

start_sim() {
  port=$(free_port)
  "$BUILD/kisgate" sim --listen "127.0.0.1:$port" --key "PSbenchKEY$(printf '%026d' 1):secret-1:real" \
    --clock 2026-11-24T16:30:00 --max-in-flight-per-key 10 --max-connections 40 >"$tmp/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  local n=$RANDOM
  cat > "$tmp/kisgate.toml" <<EOF
data_dir = "$tmp/data-$n"
[storage]
url = "sqlite://$tmp/kisgate-$n.db"
[[kis.keys]]
name = "key1"
base_url = "http://127.0.0.1:$port"
app_key = "PSbenchKEY$(printf '%026d' 1)"
app_secret = "secret-1"
[universe]
file = "$tmp/universe.txt"
EOF
  for job in price orderbook investors overtime_price; do
    printf '[[jobs]]\nname = "%s"\ndataset = "%s"\nevery = "5m"\n' "$job" "$job" >> "$tmp/kisgate.toml"
  done
}

stop_sim() {  # prints "calls busiest_1s" as the simulator saw them
  curl -sf "http://127.0.0.1:$port/_sim/stats" | /usr/bin/python3 -c \
    'import json,sys; k=json.load(sys.stdin)["keys"]; print(sum(x["calls"] for x in k), max(x["max_calls_in_1s"] for x in k))'
  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
}

# The longest job's cycle and the failed + dropped codes, from collect --once's summary.
cycle_of() { awk 'NR>1 && $1!="limit:" && $1!="freshness:" && $6+0>s {s=$6+0} END {printf "%.2f", s}' "$1"; }
failed_of() { awk 'NR>1 && $1!="limit:" && $1!="freshness:" {f+=$4+$5} END {print f+0}' "$1"; }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

per_1k=(); cycles=(); fails=(); busiest=()
for run in $(seq "$RUNS"); do
  start_sim
  # os.wait4: the process's own user and system time to the microsecond (time(1) rounds to 10 ms).
  /usr/bin/python3 -c 'import os,subprocess,sys
p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1] + "/collect.log", "w"), stderr=open(sys.argv[1] + "/collect.err", "w"))
_, _, u = os.wait4(p.pid, 0)
open(sys.argv[1] + "/time.txt", "w").write(f"{u.ru_utime:.4f} {u.ru_stime:.4f}\n")' \
    "$tmp" "$BUILD/kisgate" collect --once --config "$tmp/kisgate.toml"
  read -r calls busy < <(stop_sim)
  read -r user sys < "$tmp/time.txt"
  p=$(awk -v u="$user" -v s="$sys" -v c="$calls" 'BEGIN {printf "%.3f", 1000 * (u + s) / c}')
  per_1k+=("$p"); cycles+=("$(cycle_of "$tmp/collect.log")"); fails+=("$(failed_of "$tmp/collect.log")"); busiest+=("$busy")
  printf 'run %d: user %s s, system %s s, %s calls: %s CPU-s per 1,000 calls; cycle %s s; %s failed or dropped; busiest 1 s %s\n' \
    "$run" "$user" "$sys" "$calls" "$p" "${cycles[-1]}" "${fails[-1]}" "$busy"
done
printf 'median of %d: %s CPU-s per 1,000 calls; cycle %s s = %s x the 11.8 s limit; %s failed or dropped; busiest 1 s %s\n' \
  "$RUNS" "$(median "${per_1k[@]}")" "$(median "${cycles[@]}")" \
  "$(awk -v s="$(median "${cycles[@]}")" 'BEGIN {printf "%.3f", s / (212 / 18)}')" \
  "$(median "${fails[@]}")" "$(median "${busiest[@]}")"

if [ "${PERF:-0}" = 1 ]; then
  start_sim
  perf record -q -g -F 19999 -o "$tmp/perf.data" -- \
    "$BUILD/kisgate" collect --once --config "$tmp/kisgate.toml" >"$tmp/collect.log" 2>"$tmp/collect.err" || true
  stop_sim >/dev/null
  echo "perf record: top $TOP by self time (kisgate process)"
  perf report -i "$tmp/perf.data" --no-children --fields overhead,sym --stdio -q -g none 2>/dev/null \
    | sed 's/ *$//' | grep -v '^$' | head -n "$TOP" || true
  start_sim
  perf stat -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter -o "$tmp/stat.txt" -- \
    "$BUILD/kisgate" collect --once --config "$tmp/kisgate.toml" >"$tmp/collect.log" 2>"$tmp/collect.err" || true
  read -r calls _ < <(stop_sim)
  echo "perf stat ($calls calls):"
  grep -E 'task-clock|context-switches|migrations|sys_enter' "$tmp/stat.txt"
fi
