# The front door. Every target installs what is missing first (scripts/bootstrap.sh, Debian
# packages), so `make demo` and `make test` work on a fresh machine. Each builds only what it runs:
# demo, sim and install the kisgate binary; test the binary, the tests and the fuzz replays; bench
# the benchmarks.
#
#   make kisgate            build/kisgate alone
#   make build              build/kisgate, the tests and the fuzz corpus replays
#   make test               build, then run the test suite (ctest)
#   make test SANITIZE=1    with AddressSanitizer + UBSan, in build-asan/: the tests of the code
#                           that parses outside input (label parsers, and the fuzz corpus replays
#                           of those parsers; target sanitized_tests)
#   make test TSAN=1        the tests that use threads (ctest label "threads"), ThreadSanitizer,
#                           in build-tsan/; builds only those tests
#   make soak               the fault soak and the kill -9 test alone (ctest label "soak")
#   make demo               the seed workload through the gate against the built-in simulator
#   make sim                just the simulator, on 127.0.0.1:9443 with the demo key
#   make bench              the benchmarks under bench/, with their reports, their figures in
#                           bench/results/summary.json and the README's tables rendered from it
#   make bench-quick        short forms of the API, gate, collection and stream benchmarks (about
#                           3 minutes), compared with bench/results/summary.json: fails naming each
#                           figure that regressed beyond its noise (bench/quick.py)
#   make install            build/kisgate, the example configs, the systemd units, the alert rules
#                           and the Grafana dashboard under PREFIX (/usr/local), an empty data
#                           directory; DESTDIR=/tmp/root stages it (README "Deploying")
#   make lint               clang-format and clang-tidy checks (scripts/lint.sh; CI's first stage)
#   make format             reformat the C++ files with .clang-format

SANITIZE ?= 0
TSAN ?= 0
WERROR ?= 0
BUILD_TYPE ?= RelWithDebInfo
# What `build` builds and which tests `test` runs (ctest arguments).
BUILD_TARGETS ?= all
TEST_SELECT ?=
SKIP_DIRS ?=
ifeq ($(SANITIZE),1)
BUILD_DIR ?= build-asan
BUILD_TYPE := Debug
# The code that parses input from outside (label parsers, fuzz corpus replays included: target
# sanitized_tests); the code that uses threads is TSan's.
BUILD_TARGETS := sanitized_tests
TEST_SELECT := -L parsers
SKIP_DIRS := bench
else ifeq ($(TSAN),1)
BUILD_DIR ?= build-tsan
# Debug: -O0 compiles fastest, and these tests wait on sockets more than they compute.
BUILD_TYPE := Debug
BUILD_TARGETS := threaded_tests
TEST_SELECT := -L threads
SKIP_DIRS := bench
else
BUILD_DIR ?= build
endif
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps configure kisgate build test soak demo sim bench bench-quick install lint format clean

all: build

deps:
	@scripts/bootstrap.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DKISGATE_SANITIZE=$(if $(filter 1,$(SANITIZE)),ON,OFF) \
	  -DKISGATE_TSAN=$(if $(filter 1,$(TSAN)),ON,OFF) -DKISGATE_SKIP_DIRS="$(SKIP_DIRS)" \
	  -DKISGATE_WERROR=$(if $(filter 1,$(WERROR)),ON,OFF) -DCMAKE_INSTALL_PREFIX=$(PREFIX) > /dev/null

kisgate: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target kisgate

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target $(BUILD_TARGETS)

test: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) $(TEST_SELECT) $(CTEST_ARGS)

soak: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -L soak $(CTEST_ARGS)

DEMO_ARGS ?=
demo: kisgate
	@$(BUILD_DIR)/kisgate demo $(DEMO_ARGS)

sim: kisgate
	@$(BUILD_DIR)/kisgate sim --listen 127.0.0.1:9443

bench: configure
	@scripts/bootstrap.sh --bench
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target kisgate benchmarks
	@bench/run.sh $(BUILD_DIR)

bench-quick: configure
	@scripts/bootstrap.sh --bench
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target kisgate gate_bench stream_bench
	@/usr/bin/python3 bench/quick.py --build $(BUILD_DIR) --json $(BUILD_DIR)/bench-quick.json

install: kisgate
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD_DIR)

lint: deps
	@BUILD_DIR=$(BUILD_DIR) scripts/lint.sh

format: deps
	@scripts/lint.sh reformat

clean:
	@rm -rf build build-asan build-tsan
