#!/usr/bin/env bash
# Simulator throughput: how many KIS calls per second `kisgate sim` answers on ONE core with
# keep-alive, measured by wrk (Debian) on the other core. The simulator must never be the
# bottleneck of a benchmark: the target is >= 5,000 calls/s, against KIS's own 18 calls/s per key.
#
#   bench/sim_throughput.sh [BUILD_DIR]     writes bench/results/sim_throughput.md and its entry in
#                                           bench/results/summary.json
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-"1 8 32 128"}
out=bench/results/sim_throughput.md
at=$(/usr/bin/python3 bench/summary.py commit)  # HEAD may move while this runs
tmp=$(mktemp -d)
trap 'kill "$sim_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# No rate limit and no service delay: this measures the server, not KIS's rules.
taskset -c 0 "$BUILD/kisgate" sim --listen "127.0.0.1:$port" --rate 10000000 --latency-ms 0 \
  --token-interval 0 >"$tmp/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

key=PSkisgateDEMOsimulatorAppKey00000001
secret=$(grep -o 'appsecret=[^ ]*' "$tmp/sim.log" | cut -d= -f2)
token=$(curl -sf -X POST "http://127.0.0.1:$port/oauth2/tokenP" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"appkey\":\"$key\",\"appsecret\":\"$secret\"}" |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
url="http://127.0.0.1:$port/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$sim_pid/stat"; }
hz=$(getconf CLK_TCK)

rows=(); figures=()
for c in $CONNECTIONS; do
  rates=(); p50s=(); p99s=(); cpus=()
  for run in $(seq "$RUNS"); do
    printf '  %3d connections, run %d/%d ...\r' "$c" "$run" "$RUNS" >&2
    before=$(cpu_ticks)
    taskset -c 1 wrk -t1 -c"$c" -d"${DURATION}s" --latency \
      -H "authorization: Bearer $token" -H "appkey: $key" -H "appsecret: $secret" \
      -H "tr_id: FHKST01010100" -H "custtype: P" "$url" >"$tmp/wrk.txt"
    after=$(cpu_ticks)
    rates+=("$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.txt")")
    p50s+=("$(awk '$1=="50%" {print $2}' "$tmp/wrk.txt")")
    p99s+=("$(awk '$1=="99%" {print $2}' "$tmp/wrk.txt")")
    cpus+=("$(awk -v t=$((after - before)) -v hz="$hz" -v d="$DURATION" 'BEGIN {printf "%.2f", t / hz / d}')")
    if grep -q 'Non-2xx' "$tmp/wrk.txt"; then
      echo "error: the simulator answered non-2xx during the benchmark:" >&2
      cat "$tmp/wrk.txt" >&2
      exit 1
    fi
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  minmax() { printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.0f–%.0f", lo, hi}'; }
  rate=$(median "${rates[@]}")
  figures+=("calls_per_s_${c}_connections=$rate:$(printf '%s\n' "${rates[@]}" | paste -sd,)")
  rows+=("$(printf '| %d | %.0f | %s | %s | %s | %s | %.2f× | %.0f× |' "$c" "$rate" "$(minmax "${rates[@]}")" \
    "$(median "${p50s[@]}")" "$(median "${p99s[@]}")" "$(median "${cpus[@]}")" \
    "$(awk -v r="$rate" 'BEGIN {print r / 5000}')" "$(awk -v r="$rate" 'BEGIN {print r / 18}')")")
done
printf '\n' >&2

{
  echo "# kisgate sim throughput"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "simulator pinned to core 0, wrk pinned to core 1; \`GET inquire-price\` with a valid token, keep-alive,"
  echo "no rate limit and no service delay; ${RUNS} runs of ${DURATION} s each, median (min–max)."
  echo
  echo "| connections | calls/s | range | p50 | p99 | sim CPU (cores) | vs 5,000/s target | vs KIS 18/s per key |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "$out"
/usr/bin/python3 bench/summary.py record sim_throughput --report "$out" --commit "$at" --build "$BUILD" \
  --measured-by "bench/sim_throughput.sh (RUNS=$RUNS DURATION=$DURATION)" "${figures[@]}"
