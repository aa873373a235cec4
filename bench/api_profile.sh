#!/usr/bin/env bash
# The cached read's cost per request (issue 22): `kisgate serve` with one key against `kisgate sim`,
# a cached GET /v1/stocks/005930/price?max_age=100000 under wrk -t1 -c32 -d5s, nothing pinned, and
#   - the server's CPU per request (perf stat's task-clock over the run ÷ requests answered), or
#   - with PERF=1, a perf profile of the server (perf record -g) and its top entries.
# UNIVERSE=0 runs it without a [universe] (every code kept: the setup of the issue's first check).
#
#   bench/api_profile.sh [BUILD_DIR] [RUNS]       prints a line per run; PERF=1 also the profile
#   KEEP_PERF=FILE keeps the last run's perf.data there; PERF_CALLGRAPH='--call-graph dwarf,8192'
#   records inclusive costs (the default is -g, frame pointers)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${2:-3}
for tool in wrk perf curl /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "api_profile: $tool is missing: run scripts/bootstrap.sh --bench" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "api_profile: $1 did not answer" >&2; exit 1; }

sim_port=$(free_port)
"$BUILD/kisgate" sim --listen "127.0.0.1:$sim_port" --rate 18 >"$tmp/sim.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$sim_port/_sim/stats"
echo 005930 >"$tmp/universe.txt"
for run in $(seq "$RUNS"); do
  port=$(free_port)
  {
    echo "data_dir = \"$tmp/data\""  # one for all runs: the token is kept (one a minute)
    printf '[server]\nlisten = "127.0.0.1:%s"\n' "$port"
    printf '[storage]\nurl = "sqlite://%s/data/kisgate.db"\n' "$tmp"
    printf '[[kis.keys]]\nname = "sim"\nenvironment = "real"\nbase_url = "http://127.0.0.1:%s"\n' "$sim_port"
    printf 'app_key = "PSkisgateDEMOsimulatorAppKey00000001"\napp_secret = "%s"\nrate = 18\n' \
      "$(sed -n 's/^app_secret = "\(.*\)"$/\1/p' configs/sim.toml)"
    if [ "${UNIVERSE:-1}" = 1 ]; then printf '[universe]\nfile = "%s"\n' "$tmp/universe.txt"; fi
  } >"$tmp/serve-$run.toml"
  "$BUILD/kisgate" serve --config "$tmp/serve-$run.toml" >"$tmp/serve-$run.log" 2>&1 &
  serve=$!
  pids+=("$serve")  # stopped by cleanup too, should a step below fail
  wait_http "http://127.0.0.1:$port/healthz"
  url="http://127.0.0.1:$port/v1/stocks/005930/price?max_age=100000"
  curl -sf "$url" >/dev/null  # from KIS: cached from now on
  if [ "${PERF:-0}" = 1 ]; then
    perf record -F 2000 ${PERF_CALLGRAPH:--g} -p "$serve" -o "$tmp/perf.data" -- sleep 5 >/dev/null 2>&1 &
  else
    perf stat -e task-clock -p "$serve" -o "$tmp/stat.txt" -- sleep 5 >/dev/null 2>&1 &
  fi
  probe=$!
  wrk -t1 -c32 -d5s "$url" >"$tmp/wrk.txt"
  wait "$probe" || true
  requests=$(awk '/requests in/ {print $1}' "$tmp/wrk.txt")
  rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.txt")
  if [ "${PERF:-0}" = 1 ]; then
    echo "run $run: $rps requests/s; profile of the server:"
    if [ -n "${KEEP_PERF:-}" ]; then cp "$tmp/perf.data" "$KEEP_PERF"; fi
    # `head` closes the pipe early: not a failure of the script.
    perf report -i "$tmp/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -5 || true
    perf report -i "$tmp/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20 | cut -c1-140 || true
  else
    awk -v req="$requests" -v rps="$rps" -v run="$run" '/task-clock/ {gsub(",", "", $1); ms = $1}
      END {printf "run %d: %s requests/s, %.1f CPU-us per request in the server\n", run, rps, ms * 1000 / req}' "$tmp/stat.txt"
  fi
  kill "$serve"; wait "$serve" 2>/dev/null || true
done
