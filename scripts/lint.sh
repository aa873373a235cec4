#!/usr/bin/env bash
# Checks the code against the module rules, the repo's .clang-format and .clang-tidy; exits non-zero
# on any finding.
#
#   scripts/lint.sh               modules, format, then tidy
#   scripts/lint.sh modules       the module rules: no module includes or links one it may not
#                                 depend on (scripts/check_modules.py)
#   scripts/lint.sh format        the module rules, then clang-format --dry-run --Werror over src
#                                 tests bench fuzz
#   scripts/lint.sh tidy [FILE…]  clang-tidy over src/'s non-test .cpp files (or the FILEs given),
#                                 with BUILD_DIR/compile_commands.json (configured when missing)
#   scripts/lint.sh reformat      clang-format -i over the same files as `format` (make format)
#
# Environment: BUILD_DIR (default build), JOBS (parallel clang-tidy runs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}

# The C++ files clang-format owns: everything under src tests bench fuzz except what npm or a
# build put there.
format_files() {
  find src tests bench fuzz \( -name node_modules -o -name 'build*' \) -prune -o \
    -type f \( -name '*.cpp' -o -name '*.hpp' \) -print | sort
}

check_format() {
  local start=$SECONDS files log
  mapfile -t files < <(format_files)
  echo "lint: format: clang-format --dry-run --Werror, ${#files[@]} files"
  log=$(mktemp)
  if clang-format --dry-run --Werror "${files[@]}" 2> "$log"; then
    rm -f "$log"
    echo "lint: format: ok ($((SECONDS - start)) s)"
    return 0
  fi
  head -n 40 "$log"
  echo "lint: format: FAILED: $(grep -oE '^[^:]+:[0-9]+:[0-9]+: (warning|error):' "$log" |
    cut -d: -f1 | sort -u | wc -l) of ${#files[@]} files differ from .clang-format" \
    "(fix: make format) ($((SECONDS - start)) s)"
  rm -f "$log"
  return 1
}

# One clang-tidy run on one file; its findings go to $TIDY_OUT/<path with _ for />.log. Prints one
# progress line with the run's wall and CPU seconds.
tidy_one() {
  local file=$1 log start=$SECONDS status=0
  log="$TIDY_OUT/$(echo "$file" | tr '/' '_').log"
  local TIMEFORMAT='%U %S' cpu
  # The files of a module's unity source are headers to clang-tidy: the filter takes src/'s .cpp
  # files too. A unity source #includes .cpp files by design (bugprone-suspicious-include), and
  # carries g++'s warning flags, which clang does not all know.
  local args=(--quiet --header-filter='/src/[a-z_]+/[a-z_0-9]+\.(hpp|cpp)$'
    --extra-arg=-Wno-unknown-warning-option)
  case "$file" in
    */Unity/unity_*) args+=(--checks=-bugprone-suspicious-include) ;;
  esac
  { time clang-tidy -p "$TIDY_DB" "${args[@]}" "$file" > "$log" 2>&1; } 2> "$log.cpu" ||
    status=$?
  cpu=$(awk '{ printf "%d", $1 + $2 + 0.5 }' "$log.cpu")
  echo "$cpu" >> "$TIDY_OUT/cpu"
  # "N warnings generated." is clang's count, not a finding.
  sed -i '/^[0-9]* warnings\? \(and [0-9]* errors\? \)\?generated\.$/d' "$log"
  echo "$file" >> "$TIDY_OUT/done"
  printf 'lint: tidy: [%d/%d] %s: %s (%d s, %d s CPU)\n' "$(wc -l < "$TIDY_OUT/done")" \
    "$TIDY_TOTAL" "$file" "$([ $status = 0 ] && echo ok || echo FAILED)" $((SECONDS - start)) "$cpu"
  [ $status = 0 ] || echo "$file" >> "$TIDY_OUT/failed"
  return 0
}

# The compile_commands.json entries of the kisgate binary's libraries and of src/app: those whose
# object goes to src/<module>/CMakeFiles/kisgate.dir or kisgate_<module>.dir, and whose source is
# a unity source or a .cpp under src/ (not a test, not a generated file: those are built apart).
own_translation_units() {
  /usr/bin/python3 - "$1" "$PWD/src/" << 'EOF'
import json, re, sys
entries, src = json.load(open(sys.argv[1])), sys.argv[2]
own = re.compile(r"^src/[a-z_]+/CMakeFiles/kisgate(_[a-z_]+)?\.dir/")
for e in entries:
    out = re.search(r"-o (\S+)", e["command"])
    file = e["file"]
    if not out or not own.search(out.group(1)):
        continue
    if re.search(r"/Unity/unity_\d+_cxx\.cxx$", file) or (
            file.startswith(src) and not file.endswith("_test.cpp")):
        print(file)
EOF
}

check_modules() {
  echo "lint: modules: scripts/check_modules.py"
  if /usr/bin/python3 scripts/check_modules.py; then
    return 0
  fi
  echo "lint: modules: FAILED (the table of what each module may use is in scripts/check_modules.py)"
  return 1
}

check_tidy() {
  local start=$SECONDS files
  if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
    echo "lint: tidy: configuring $BUILD_DIR for its compile_commands.json"
    make --no-print-directory configure BUILD_DIR="$BUILD_DIR"
  fi
  if [ $# -gt 0 ]; then
    files=("$@")
  else
    # kisgate's own translation units, as the build compiles them (tests and generated files are
    # left out): with unity builds (the default) one per module and src/http's heavy files, so
    # the Asio, Beast and JSON headers are parsed once per module rather than once per file.
    mapfile -t files < <(own_translation_units "$BUILD_DIR/compile_commands.json")
  fi
  TIDY_OUT=$(mktemp -d)
  TIDY_TOTAL=${#files[@]}
  # A copy of the compile commands: a build configuring BUILD_DIR meanwhile (CI runs the tests
  # beside this) may rewrite the file while clang-tidy reads it.
  TIDY_DB="$TIDY_OUT/db"
  mkdir "$TIDY_DB"
  cp "$BUILD_DIR/compile_commands.json" "$TIDY_DB/"
  export TIDY_OUT TIDY_TOTAL TIDY_DB
  export -f tidy_one
  trap 'rm -rf "$TIDY_OUT"' RETURN
  echo "lint: tidy: clang-tidy over $TIDY_TOTAL files, $JOBS at a time"
  : > "$TIDY_OUT/done"
  : > "$TIDY_OUT/cpu"
  # shellcheck disable=SC2016 # $1 is the child bash's, expanded there
  printf '%s\n' "${files[@]}" | xargs -P "$JOBS" -I{} bash -c 'tidy_one "$1"' _ {}
  if [ -s "$TIDY_OUT/failed" ]; then
    # A header's findings repeat in every file that includes it: print each finding once.
    cat "$TIDY_OUT"/*.log | awk '
      BEGIN { keep = 1 }
      /: (warning|error): / { keep = !seen[$0]++ }
      keep { print }'
    echo "lint: tidy: findings by check (each once):"
    cat "$TIDY_OUT"/*.log | grep -E ': (warning|error): ' | sort -u |
      grep -oE '\[[a-z0-9.,-]+\]$' | sed 's/,-warnings-as-errors//' | sort | uniq -c | sort -rn
    echo "lint: tidy: FAILED in $(wc -l < "$TIDY_OUT/failed") of $TIDY_TOTAL files" \
      "($((SECONDS - start)) s, $(awk '{ s += $1 } END { print s }' "$TIDY_OUT/cpu") s CPU)"
    return 1
  fi
  echo "lint: tidy: ok, $TIDY_TOTAL files ($((SECONDS - start)) s," \
    "$(awk '{ s += $1 } END { print s }' "$TIDY_OUT/cpu") s CPU)"
}

mode=${1:-all}
[ $# -gt 0 ] && shift
case "$mode" in
  all)
    status=0
    check_modules || status=1
    check_format || status=1
    check_tidy || status=1
    exit $status
    ;;
  modules) check_modules ;;
  format)
    status=0
    check_modules || status=1
    check_format || status=1
    exit $status
    ;;
  tidy) check_tidy "$@" ;;
  reformat) format_files | xargs clang-format -i ;;
  *)
    echo "lint: unknown mode '$mode' (known: modules, format, tidy, reformat)" >&2
    exit 2
    ;;
esac
