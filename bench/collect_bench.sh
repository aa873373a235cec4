#!/usr/bin/env bash
# Collection benchmarks (issue 4), each run against `kisgate sim` in its own process so that
# kisgate's own memory can be measured:
#   seed:   53 codes x 4 data sets (price, order book, investors, after-hours) = 212 calls, one key
#           at 18/s, the simulator's burst rules on. Physical limit 212 / 18 = 11.8 s; target 12.4 s.
#   market: 2,700 codes x price over 4 keys (72 calls/s). Target >= 0.95 x 72/s, peak RSS <= 64 MB.
#
#   bench/collect_bench.sh [BUILD_DIR]     writes bench/results/collect.md and its entry in
#                                          bench/results/summary.json
#   bench/collect_bench.sh BUILD_DIR --quick FILE.json
#                                          the seed workload alone, its figures to FILE.json
#                                          (for bench/quick.py), no report
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${RUNS:-3}
quick=""
if [ "${2:-}" = --quick ]; then quick=${3:?"--quick needs a file"}; fi
out=bench/results/collect.md
at=$(/usr/bin/python3 bench/summary.py commit)  # HEAD may move while this runs
tmp=$(mktemp -d)
sim_pid=""
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_sim() {  # start_sim KEYS; sets $port and $sim_pid
  port=$(free_port)
  local keys=()
  for k in $(seq "$1"); do keys+=(--key "PSbenchKEY$(printf '%026d' "$k"):secret-$k:real"); done
  "$BUILD/kisgate" sim --listen "127.0.0.1:$port" "${keys[@]}" --clock 2026-11-24T16:30:00 \
    --max-in-flight-per-key 10 --max-connections 40 >"$tmp/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
}

write_config() {  # write_config PORT KEYS CODES JOBS...
  local port=$1 keys=$2 codes=$3; shift 3
  {
    # A fresh data_dir per run: a token persisted against another simulator process is invalid.
    echo "data_dir = \"$tmp/data-$RANDOM\""
    echo "[storage]"
    echo "url = \"sqlite://$tmp/data/kisgate-$RANDOM.db\""
    for k in $(seq "$keys"); do
      printf '[[kis.keys]]\nname = "key%s"\nbase_url = "http://127.0.0.1:%s"\napp_key = "PSbenchKEY%026d"\napp_secret = "secret-%s"\n' \
        "$k" "$port" "$k" "$k"
    done
    echo "[universe]"
    echo "file = \"$tmp/universe-$codes.txt\""
    for job in "$@"; do printf '[[jobs]]\nname = "%s"\ndataset = "%s"\nevery = "5m"\n' "$job" "$job"; done
  } > "$tmp/kisgate.toml"
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s–%s", lo, hi}'; }

# Universe files from the simulator's listing order (known names first, then generated codes).
/usr/bin/python3 - "$tmp" <<'PY'
import sys
# The simulator's generated codes start at 100000 in steps of 30, after 53 well-known listings.
known = """005930 000660 373220 207940 005380 000270 068270 035420 035720 051910 006400 105560 055550
012330 028260 066570 003550 096770 017670 030200 032830 086790 316140 010130 005490 009150 018260
034730 015760 033780 003670 011200 010950 024110 259960 323410 352820 042700 012450 329180 009540
047050 010140 000810 138040 247540 086520 196170 028300 293490 263750 058470 145020""".split()
codes = list(known)
c = 100000
while len(codes) < 2700:
    code = f"{c:06d}"
    if code not in known:
        codes.append(code)
    c += 30
for n in (53, 2700):
    with open(f"{sys.argv[1]}/universe-{n}.txt", "w") as f:
        f.write("\n".join(codes[:n]) + "\n")
PY

run_collect() {  # prints "seconds rss_kb user_s system_s exit_code"
  local log="$tmp/collect.log"
  set +e
  /usr/bin/time -f "%e %M %U %S" -o "$tmp/time.txt" "$BUILD/kisgate" collect --once --config "$tmp/kisgate.toml" >"$log" 2>"$tmp/collect.err"
  local rc=$?
  set -e
  echo "$(cat "$tmp/time.txt") $rc"
}

sim_calls() { curl -sf "http://127.0.0.1:$port/_sim/stats" | /usr/bin/python3 -c 'import json,sys; print(sum(k["calls"] for k in json.load(sys.stdin)["keys"]))'; }

seed_s=(); seed_failed=(); seed_busiest=(); seed_cpu=(); market_rate=(); market_rss=(); market_failed=(); market_busiest=()
for run in $(seq "$RUNS"); do
  printf '  seed workload, run %d/%d ...\n' "$run" "$RUNS" >&2
  start_sim 1
  write_config "$port" 1 53 price orderbook investors overtime_price
  read -r secs rss user sys rc < <(run_collect)
  # CPU of the whole kisgate process (user + system, start-up and shutdown included) per 1,000
  # calls the simulator answered (the token and the quotations).
  seed_cpu+=("$(awk -v u="$user" -v s="$sys" -v n="$(sim_calls)" 'BEGIN {printf "%.3f", (u + s) / n * 1000}')")
  # Cycle time: the longest of the four jobs (collect --once runs them at once, sharing the key).
  seed_s+=("$(awk 'NR>1 && $1!="limit:" && $1!="freshness:" && $6+0>s {s=$6+0} END {printf "%.2f", s}' "$tmp/collect.log")")
  seed_failed+=("$(awk 'NR>1 && $1!="limit:" && $1!="freshness:" {f+=$4+$5} END {print f+0}' "$tmp/collect.log")")
  seed_busiest+=("$(curl -sf "http://127.0.0.1:$port/_sim/stats" | /usr/bin/python3 -c 'import json,sys; print(max(k["max_calls_in_1s"] for k in json.load(sys.stdin)["keys"]))')")
  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
  printf '    cycle %s s, %s failed, busiest 1 s %s, %s CPU-s per 1,000 calls\n' "${seed_s[-1]}" \
    "${seed_failed[-1]}" "${seed_busiest[-1]}" "${seed_cpu[-1]}" >&2
  [ -n "$quick" ] && continue

  printf '  whole market (2,700 codes x price, 4 keys), run %d/%d ...\n' "$run" "$RUNS" >&2
  start_sim 4
  write_config "$port" 4 2700 price
  read -r secs rss _ _ rc < <(run_collect)
  market_rate+=("$(awk 'NR==2 {printf "%.2f", $3/$6}' "$tmp/collect.log")")
  market_rss+=("$(awk -v k="$rss" 'BEGIN {printf "%.1f", k/1024}')")
  market_failed+=("$(awk 'NR==2 {print $4+$5}' "$tmp/collect.log")")
  market_busiest+=("$(curl -sf "http://127.0.0.1:$port/_sim/stats" | /usr/bin/python3 -c 'import json,sys; print(max(k["max_calls_in_1s"] for k in json.load(sys.stdin)["keys"]))')")
  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
done

ratio() { printf '%s\n' "$@" | awk '{printf "%s%.3f", (NR > 1 ? "," : ""), $1 / (212 / 18)}'; }
join() { local IFS=,; echo "$*"; }
seed_metrics=(
  "seed_cycle_s=$(median "${seed_s[@]}"):$(join "${seed_s[@]}")"
  "seed_cycle_over_limit=$(ratio "$(median "${seed_s[@]}")"):$(ratio "${seed_s[@]}")"
  "seed_cpu_s_per_1000_calls=$(median "${seed_cpu[@]}"):$(join "${seed_cpu[@]}")"
  "seed_failed=$(median "${seed_failed[@]}"):$(join "${seed_failed[@]}")"
  "seed_busiest_1s=$(median "${seed_busiest[@]}"):$(join "${seed_busiest[@]}")"
)
if [ -n "$quick" ]; then
  /usr/bin/python3 -c '
import json, sys
sys.path.insert(0, "bench")
import summary
print(json.dumps(dict(summary.parse_metric(m) for m in sys.argv[1:])))' "${seed_metrics[@]}" >"$quick"
  exit 0
fi

{
  echo "# Collection against kisgate sim"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, \`bench/collect_bench.sh\` at commit $at; \`kisgate collect --once\` in its own process against \`kisgate sim\`"
  echo "(18 calls/s per key, sliding window, median delay 40 ms, burst rules on: 10 in flight per key,"
  echo "40 connections). ${RUNS} runs, median (min–max)."
  echo
  echo "| workload | result | target | failed or dropped | busiest 1 s at the simulator (per key) |"
  echo "|---|---:|---:|---:|---:|"
  echo "| seed: 53 codes x 4 data sets, 1 key | $(median "${seed_s[@]}") s ($(range "${seed_s[@]}")); $(awk -v s="$(median "${seed_s[@]}")" 'BEGIN {printf "%.3f", s / (212 / 18)}') x the 11.8 s limit | <= 12.4 s | $(median "${seed_failed[@]}") | $(median "${seed_busiest[@]}") |"
  echo "| seed: CPU of the kisgate process (user + system) per 1,000 calls at the simulator | $(median "${seed_cpu[@]}") s ($(range "${seed_cpu[@]}")) | <= 0.1 s | | |"
  echo "| whole market: 2,700 codes x price, 4 keys | $(median "${market_rate[@]}") calls/s ($(range "${market_rate[@]}")); $(awk -v r="$(median "${market_rate[@]}")" 'BEGIN {printf "%.3f", r / 72}') of 72/s | >= 0.95 | $(median "${market_failed[@]}") | $(median "${market_busiest[@]}") |"
  echo "| whole market: peak RSS of kisgate | $(median "${market_rss[@]}") MB ($(range "${market_rss[@]}")) | <= 64 MB | | |"
} | tee "$out"
market_ratio() { printf '%s\n' "$@" | awk '{printf "%s%.3f", (NR > 1 ? "," : ""), $1 / 72}'; }
/usr/bin/python3 bench/summary.py record collect --report "$out" --commit "$at" --measured-by "bench/collect_bench.sh (RUNS=$RUNS)" \
  --build "$BUILD" "${seed_metrics[@]}" \
  "market_calls_per_s=$(median "${market_rate[@]}"):$(join "${market_rate[@]}")" \
  "market_over_limit=$(market_ratio "$(median "${market_rate[@]}")"):$(market_ratio "${market_rate[@]}")" \
  "market_failed=$(median "${market_failed[@]}"):$(join "${market_failed[@]}")" \
  "market_busiest_1s=$(median "${market_busiest[@]}"):$(join "${market_busiest[@]}")" \
  "market_rss_mb=$(median "${market_rss[@]}"):$(join "${market_rss[@]}")"
