# modeld developer entry points. `make run` and `make test` do all setup.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CONFIG ?= configs/models.yaml
HOST ?= 127.0.0.1
PORT ?= 8080
LLAMA_PREFIX_FILE := $(BUILD)/llama-prefix.txt
SOURCES = $(shell git ls-files '*.h' '*.cpp' 2>/dev/null)

.PHONY: all setup configure build run test models tidy format clean bench bench-quick \
  check-robust fresh-check fuzz

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

# The unit tests REPEAT times (default 3), on the idle machine and then pinned
# to one core beside a busy process; run it before a commit.
# ROBUST_ARGS passes more options (scripts/check-robust.sh --help).
check-robust: build
	@scripts/models.sh test
	@BUILD=$(BUILD) scripts/check-robust.sh $(if $(REPEAT),--repeat $(REPEAT)) $(ROBUST_ARGS)

# libFuzzer targets, built with clang-16 in build-fuzz/ (installed by
# `scripts/setup.sh --fuzz`); each runs FUZZ_SECONDS (default 60).
# FUZZ_TARGETS picks some (default all). See docs/fuzzing.md.
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) scripts/fuzz.sh $(FUZZ_TARGETS)

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
