#!/usr/bin/env bash
# Benchmarks modeld against llama.cpp's llama-bench and llama-server (issue 4).
# `make bench` and `make bench-quick` call this after `make build`.
#
#   scripts/bench.sh [--quick]
#                    [--scenario decode,ttft,switch,standby,coldcache,repack,memory,
#                                pertoken,concurrency,chat,embeddings,json_schema]
#                    [--models tiny,small,1b] [--reps N] [--tokens N]
#                    [--memory-switches N] [--clients 1,2,4,8]
#                    [--concurrency-tokens N] [--chat-turns N] [--out DIR]
#                    [--wait-quiet MINUTES] [--no-llama-tools] [--no-setup]
#                    [--keep-workdir]
#
# Scenarios (default: all): decode, ttft, switch (with modeld's switch phases
# and page faults beside the floor probe's), standby (switch-back with the
# weights kept loaded, standby_bytes), coldcache (switch with the target file
# evicted from the page cache), repack (Q4_0 models: repacking on vs off;
# skipped without one), memory, pertoken, concurrency (1, 2, 4, 8 clients at once on small and 1b, 128 tokens each,
# OpenAI chat streaming; modeld `parallel: 8` vs llama-server -np 8 -kvu;
# quick: tiny, 1 and 2 clients, 16 tokens), and chat (an 8-turn conversation
# on small and 1b with the prompt cache, TTFT per turn: modeld vs
# llama-server -np 1, and both with a request for tiny between turns, the
# latter in router mode; quick: tiny, 3 turns), and embeddings (inputs/s of
# /v1/embeddings vs llama-server --embeddings), and json_schema (decode tok/s
# with a JSON schema against without one: modeld /infer vs llama-server
# /completion, both with `json_schema`). bench/README.md has the details.
#
# It builds nothing twice: llama-bench and llama-server come from
# `scripts/setup.sh --tools` (cached beside the llama.cpp libraries), modeld
# from bin/, the probes from the CMake build ($BUILD, default build/).
# Missing models are generated. Results: DIR/<UTC timestamp>.json, latest.md
# and latest.png (DIR defaults to bench/results).
#
#   --no-llama-tools  run without llama-bench/llama-server (marked missing)
#   --no-setup        do not run scripts/setup.sh; use the tools if present
# Environment: BUILD (CMake build folder), BENCH_WAIT_QUIET (minutes to wait
# for a 1-minute load average below 1.2 before measuring; default 0).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build="${BUILD:-build}"
[[ "$build" = /* ]] || build="$root/$build"
out="$root/bench/results"
quick=0 setup=1 llama_tools=1 models=""
pass=()
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --no-setup) setup=0; shift ;;
    --no-llama-tools) llama_tools=0; shift ;;
    --models) models="$2"; pass+=("$1" "$2"); shift 2 ;;
    --quick) quick=1; pass+=("$1"); shift ;;
    --scenario|--reps|--tokens|--memory-switches|--wait-quiet|--clients|--concurrency-tokens|--chat-turns)
      pass+=("$1" "$2"); shift 2 ;;
    --keep-workdir) pass+=("$1"); shift ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$models" ]] || { ((quick)) && models=tiny || models=tiny,small,1b; }

# llama.cpp's own tools, from the same pinned source and flags as the library.
llama_bin="" why="not built (run scripts/setup.sh --tools)"
if ((llama_tools)); then
  if ((setup)); then
    prefix="$(scripts/setup.sh --tools)"
  else
    prefix="$(cat "$build/llama-prefix.txt" 2>/dev/null || ls -d "${MODELD_CACHE:-$HOME/.cache/modeld}"/llama-v*-* 2>/dev/null | head -n1 || true)"
  fi
  [[ -n "$prefix" && -x "$prefix/bin/llama-server" ]] && llama_bin="$prefix/bin"
else
  why="not used in this run (--no-llama-tools)"
fi

# Models: the presets asked for, plus the tiny twin when only one is measured.
sets=()
[[ ",$models," == *,tiny,* || ",$models," == *,small,* ]] && sets+=(demo)
[[ "$models" != *,* ]] && sets+=(test)
[[ ",$models," == *,1b,* ]] && sets+=(1b)
((${#sets[@]} == 0)) || scripts/models.sh "${sets[@]}"

# The bench/ probes; `make build` has built them already, this covers direct calls.
if [[ -f "$build/CMakeCache.txt" && ! -x "$build/bench/modeld-floor-probe" ]]; then
  cmake --build "$build" -j"$(nproc)" --target modeld-floor-probe modeld-serving-path-bench >&2 || true
fi

exec python3 "$root/bench/run_bench.py" --root "$root" --out "$out" --modeld "$root/bin/modeld" \
  --build-dir "$build" --llama-bin "$llama_bin" --llama-missing-reason "$why" \
  --models-dir "${MODELD_MODELS_DIR:-$root/models}" --wait-quiet "${BENCH_WAIT_QUIET:-0}" \
  ${pass[@]+"${pass[@]}"}
