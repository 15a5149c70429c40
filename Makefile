# modeld developer entry points. `make run` and `make test` do all setup.
SHELL := /bin/bash
, := ,
BUILD ?= build
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
FUZZ_PARALLEL ?= 1
CONFIG ?= configs/models.yaml
HOST ?= 127.0.0.1
PORT ?= 8080
LLAMA_PREFIX_FILE := $(BUILD)/llama-prefix.txt
SOURCES = $(shell git ls-files '*.h' '*.cpp' 2>/dev/null)

.PHONY: all setup configure build run test models tidy format clean bench bench-quick \
  check-robust fresh-check test-asan test-tsan fuzz soak

all: build

# Debian packages + pinned llama.cpp (cached outside the clone; a no-op once done).
setup:
	@mkdir -p $(BUILD)
	@scripts/setup.sh > $(LLAMA_PREFIX_FILE).tmp && mv $(LLAMA_PREFIX_FILE).tmp $(LLAMA_PREFIX_FILE)

configure: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_PREFIX_PATH="$$(cat $(LLAMA_PREFIX_FILE));$(CMAKE_PREFIX_PATH)" >/dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

models: build
	@scripts/models.sh demo test 1b

run: build
	@scripts/models.sh demo
	bin/modeld --config $(CONFIG) --host $(HOST) --port $(PORT)

test: build
	@scripts/models.sh test 1b
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j1

# The unit and black-box suites on modeld built by clang with sanitizers
# (llama.cpp's libraries stay uninstrumented), each in its own build folder
# with its own bin/. Suppressions and options: tests/sanitizers/.
SAN_CMAKE = cmake -S . -B $(BUILD)-$(1) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMODELD_SANITIZE=$(2) \
  -DMODELD_BIN_DIR=$(CURDIR)/$(BUILD)-$(1)/bin \
  -DCMAKE_PREFIX_PATH="$$(cat $(LLAMA_PREFIX_FILE));$(CMAKE_PREFIX_PATH)" >/dev/null
SAN_EXCLUDE = static_binary|systemd_unit
# Under TSan (5-15x slower, shadow memory in RSS) the hundred-switch RSS
# bound neither fits its timeout nor measures modeld; ASan and make test run it.
TSAN_SLOW = RssOverAHundredSwitches
# Under ASan: UBSan's vptr check reads memory through a pipe, which it cannot
# open at the file limit that AcceptAtTheFileLimit sets, and then reports a
# false "invalid vptr"; and ASan's malloc hides the heap figures standby
# counts, so its budget sees RSS with ASan's shadow and keeps nothing in
# RssOverAHundredSwitches. tests/sanitizers/README.md has the detail.
ASAN_UNFIT = AcceptAtTheFileLimitPausesWithOneLogLine|RssOverAHundredSwitches

test-asan: models
	@$(call SAN_CMAKE,asan,address$(,)undefined)
	@cmake --build $(BUILD)-asan -j$(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=$$(cat $(CURDIR)/tests/sanitizers/asan.options) \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp \
	  ctest --output-on-failure --timeout 600 -j1 -L 'unit|blackbox' -E '$(SAN_EXCLUDE)|$(ASAN_UNFIT)'

test-tsan: models
	@$(call SAN_CMAKE,tsan,thread)
	@cmake --build $(BUILD)-tsan -j$(JOBS)
	cd $(BUILD)-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 allocator_may_return_null=1 suppressions=$(CURDIR)/tests/sanitizers/tsan.supp" \
	  ctest --output-on-failure --timeout 600 -j1 -L 'unit|blackbox' -E '$(SAN_EXCLUDE)|$(TSAN_SLOW)'

# The unit tests REPEAT times (default 3), on the idle machine and then pinned
# to one core beside a busy process; run it before a commit.
# ROBUST_ARGS passes more options (scripts/check-robust.sh --help).
check-robust: build
	@scripts/models.sh test
	@BUILD=$(BUILD) scripts/check-robust.sh $(if $(REPEAT),--repeat $(REPEAT)) $(ROBUST_ARGS)

# libFuzzer targets, built with clang-16 in build-fuzz/ (installed by
# `scripts/setup.sh --fuzz`); each runs FUZZ_SECONDS of CPU time (default 60),
# FUZZ_PARALLEL of them at once (default 1).
# FUZZ_TARGETS picks some (default all). See docs/fuzzing.md.
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_PARALLEL=$(FUZZ_PARALLEL) JOBS=$(JOBS) scripts/fuzz.sh $(FUZZ_TARGETS)

# A bounded run (SOAK_SECONDS, default 180, at most 600) of bin/modeld under
# mixed hostile load: both APIs, streaming or not, hang-ups, model switches,
# queue overflow, SIGHUP, model files rewritten in place and replaced. It
# fails unless every request ended with a documented status in time, fds are
# back to baseline, RSS grew <= 10 MB and /readyz is 200 (scripts/soak.py).
soak: build
	@scripts/models.sh test
	@python3 scripts/soak.py $(if $(SOAK_SECONDS),--seconds $(SOAK_SECONDS))

# `make test` in a fresh clone of the committed HEAD, as CI runs it; prints the time.
fresh-check:
	@scripts/fresh-clone-check.sh

tidy: configure
	@clang-format -i $(SOURCES)
	@clang-format --dry-run -Werror $(SOURCES)
	@clang-tidy -p $(BUILD) --quiet --extra-arg=-Wno-unknown-warning-option $(filter %.cpp,$(filter-out %_test.cpp,$(SOURCES))) 2>/dev/null

format:
	@clang-format -i $(SOURCES)

bench: build
	@scripts/bench.sh $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(MODELS),--models $(MODELS))

bench-quick: build
	@scripts/bench.sh --quick $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(MODELS),--models $(MODELS))

clean:
	rm -rf $(BUILD) bin
