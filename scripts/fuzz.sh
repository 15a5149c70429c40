#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang-16 (ASan + UBSan) in their
# own build folder and runs each for a while (docs/fuzzing.md).
#
#   scripts/fuzz.sh [target...]     default: every fuzz/*_fuzzer.cpp
#
# Environment:
#   FUZZ_SECONDS  CPU seconds per target (default 60)
#   FUZZ_PARALLEL targets run at once (default 1)
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

# Runs one target until it has used `seconds` of CPU time (libFuzzer's
# -max_total_time is wall time, which a busy machine stretches): each pass
# gets the CPU time still missing, and a pass that finds a crash ends it.
run_target() {
  local t=$1 corpus="$build/corpus/$1" artifacts="$build/artifacts/$1/" used=0 pass=0
  mkdir -p "$corpus" "$artifacts"
  local dict=()
  [[ -f fuzz/dict/$t.dict ]] && dict=(-dict="fuzz/dict/$t.dict")
  : >"$build/$t.log"
  while ((used < seconds)); do
    pass=$((pass + 1))
    local before after
    cpu_of_children
    before=$CHILD_CPU
    # -max_len: room for the HTTP limits the router target sets (8 KiB bodies).
    if ! "$build/fuzz/${t}_fuzzer" -max_total_time=$((seconds - used)) -timeout=10 -max_len=16384 \
      -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" \
      "$corpus" "fuzz/corpus/$t" >>"$build/$t.log" 2>&1; then
      echo "crashed" >"$build/$t.result"
      return
    fi
    cpu_of_children
    after=$CHILD_CPU
    used=$((used + after - before))
    ((after > before)) || break  # nothing ran: do not spin
  done
  echo "ok ${used} ${pass}" >"$build/$t.result"
}

# Sets CHILD_CPU to the whole CPU seconds (user + system) of this shell's
# finished children. `times` runs in this shell, not a subshell, to see them.
cpu_of_children() {
  local f t
  f=$(mktemp)
  times >"$f"
  read -r -a t < <(tail -n 1 "$f" | sed 's/[ms]/ /g')
  rm -f "$f"
  # "XmY.Zs XmY.Zs": minutes and seconds of user, then of system time.
  CHILD_CPU=$(awk -v um="${t[0]}" -v us="${t[1]}" -v sm="${t[2]}" -v ss="${t[3]}" \
    'BEGIN { printf "%d", um * 60 + us + sm * 60 + ss }')
}

parallel="${FUZZ_PARALLEL:-1}"
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
  log "$t: ${seconds} CPU-seconds"
  run_target "$t" &
done
wait || true

failed=()
for t in "${targets[@]}"; do
  result=$(cat "$build/$t.result" 2>/dev/null || echo "crashed")
  if [[ $result == crashed ]]; then
    failed+=("$t")
    tail -n 40 "$build/$t.log" >&2
  else
    read -r _ used passes <<<"$result"
    log "$t: ${used} CPU-seconds in ${passes} pass(es)"
  fi
  # The last status line: executions, coverage, corpus size.
  grep -E '^#[0-9]+' "$build/$t.log" | tail -n 1 | sed "s/^/fuzz: $t: /" >&2 || true
  grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$build/$t.log" |
    tail -n 3 | sed "s/^/fuzz: $t: /" >&2 || true
done
if ((${#failed[@]})); then
  log "crashed: ${failed[*]} (inputs in $build/artifacts/)"
  exit 1
fi
log "no crashes in ${targets[*]}"
