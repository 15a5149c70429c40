#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang-16 (ASan + UBSan) in their
# own build folder and runs each for a while (docs/fuzzing.md).
#
#   scripts/fuzz.sh [target...]     default: every fuzz/*_fuzzer.cpp
#
# Environment:
#   FUZZ_SECONDS  run time per target (default 60)
#   FUZZ_BUILD    build folder (default build-fuzz)
#   JOBS          parallel compile jobs (default: the number of cores)
#
# New inputs go to $FUZZ_BUILD/corpus/<target>/ (the committed seeds in
# fuzz/corpus/ are read, never written); crashes to
# $FUZZ_BUILD/artifacts/<target>/. Exits non-zero when a target crashed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${FUZZ_SECONDS:-60}"
build="${FUZZ_BUILD:-build-fuzz}"
jobs="${JOBS:-$(nproc)}"
log() { printf 'fuzz: %s\n' "$*" >&2; }

if (($#)); then
  targets=("$@")
else
  targets=()
  for f in fuzz/*_fuzzer.cpp; do
    n="${f##*/}"
    targets+=("${n%_fuzzer.cpp}")
  done
fi

mkdir -p "$build"
scripts/setup.sh --fuzz >"$build/llama-prefix.txt"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELD_BIN_DIR="$(cd "$build" && pwd)/bin" \
  -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 \
  -DMODELD_FUZZ=ON -DMODELD_WERROR=OFF \
  -DCMAKE_PREFIX_PATH="$(cat "$build/llama-prefix.txt");${CMAKE_PREFIX_PATH:-}" >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]/%/_fuzzer}"

failed=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t" artifacts="$build/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [[ -f fuzz/dict/$t.dict ]] && dict=(-dict="fuzz/dict/$t.dict")
  log "$t: ${seconds}s"
  # -max_len: room for the HTTP limits the router target sets (8 KiB bodies).
  if ! "$build/fuzz/${t}_fuzzer" -max_total_time="$seconds" -timeout=10 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" \
    "$corpus" "fuzz/corpus/$t" >"$build/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 40 "$build/$t.log" >&2
  fi
  # The last status line: executions, coverage, corpus size.
  grep -E '^#[0-9]+' "$build/$t.log" | tail -n 1 | sed "s/^/fuzz: $t: /" >&2 || true
  grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$build/$t.log" |
    sed "s/^/fuzz: $t: /" >&2 || true
done
if ((${#failed[@]})); then
  log "crashed: ${failed[*]} (inputs in $build/artifacts/)"
  exit 1
fi
log "no crashes in ${targets[*]}"
