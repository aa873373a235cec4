#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for SECONDS (default 60)
# over fuzz/corpus/<target>/, which grows with what the fuzzer finds. A crash stops the run and
# leaves its input in fuzz/ (add it to the corpus once fixed, as a regression input).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
scripts/bootstrap.sh
command -v clang++ >/dev/null || { echo "fuzz: clang++ is needed (apt-get install clang)" >&2; exit 2; }
# Release (no -g): clang 14 fails on coroutines with debug info and sanitizers together.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
  -DKISGATE_FUZZ=ON > /dev/null
cmake --build build-fuzz --target fuzz_targets -j "$(nproc)"
for source in fuzz/*_fuzz.cpp; do
  target=$(basename "$source" .cpp)
  mkdir -p "fuzz/corpus/$target"
  echo "== $target for ${SECONDS_PER_TARGET}s"
  if ! "build-fuzz/fuzz/$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 \
      -artifact_prefix=fuzz/ "fuzz/corpus/$target" > "build-fuzz/$target.log" 2>&1; then
    tail -40 "build-fuzz/$target.log"
    echo "fuzz: $target found a problem; its input is in fuzz/" >&2
    exit 1
  fi
  grep -E "^#[0-9]+ *DONE|Done [0-9]+ runs" "build-fuzz/$target.log" | tail -1
done
