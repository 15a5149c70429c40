#!/usr/bin/env bash
# CTest guard for the benchmark harness (label bench): runs the quick profile
# on tiny into a temporary folder and checks the results JSON has every field.
# No speed assertions. It does not need llama.cpp's tools: it runs with
# --no-llama-tools and checks that llama-bench, llama-server and the router
# are marked missing with a reason, while modeld, the floor probe and the
# serving-path benchmark measured (concurrency: modeld at 1 and 2 clients;
# chat: modeld with and without switches, 3 turns, cached_tokens each turn).
# It also checks latest.md and latest.png; the chart needs gnuplot (Debian
# gnuplot-nox, installed by scripts/setup.sh), so without gnuplot the test
# fails at once.  Usage: bench_harness_test.sh BUILD_DIR
set -euo pipefail
for tool in python3 gnuplot; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "bench_harness: FAIL: $tool not found; it is needed for the results and latest.png." >&2
    echo "bench_harness: scripts/setup.sh installs it (Debian packages python3, gnuplot-nox)." >&2
    exit 1
  }
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:?usage: bench_harness_test.sh BUILD_DIR}" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
BUILD="$build" "$root/scripts/bench.sh" --quick --models tiny --no-llama-tools --no-setup \
  --reps 1 --tokens 16 --memory-switches 4 --out "$tmp"
shopt -s nullglob
results=("$tmp"/2*.json)
((${#results[@]} == 1)) || { echo "expected one results JSON, got ${#results[@]}" >&2; exit 1; }
python3 "$root/bench/check_results.py" "${results[0]}" \
  --expect-ok modeld-sse,modeld-ndjson,modeld,modeld-switch,floor \
  --expect-missing llama-server,llama-bench,llama-server-router
python3 - "${results[0]}" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
pt = doc["scenarios"]["pertoken"]
assert pt["allocations"]["status"] == "ok", pt["allocations"]
assert pt["allocations"]["benchmarks"], "no serving-path benchmarks ran"
assert pt["end_to_end"]["status"] == "ok", pt["end_to_end"]
assert doc["scenarios"]["memory"]["checkpoints"]["2"]["VmRSS"] > 0
cc = doc["scenarios"]["concurrency"]["tiny"]
assert sorted(cc["levels"]) == ["1", "2"], list(cc["levels"])
burst = cc["levels"]["2"]["contenders"]["modeld"]["details"][0]
assert burst["tokens"] == 2 * cc["tokens"] and len(burst["streams"]) == 2, burst
ch = doc["scenarios"]["chat"]["tiny"]
assert sorted(ch["turns"]) == ["1", "2", "3"], list(ch["turns"])
for name in ("modeld", "modeld-switch"):
    for k in ("1", "2", "3"):
        cached = ch["cached_tokens"][name][k]
        assert cached and all(isinstance(v, int) for v in cached), (name, k, cached)
assert ch["switch"]["modeld_switch_back_ms"]["3"]["median"] is not None, ch["switch"]
print("bench_harness: pertoken, memory, concurrency and chat fields present")
PY
for f in latest.md latest.png; do
  [[ -s "$tmp/$f" ]] || { echo "bench_harness: FAIL: $f was not written" >&2; exit 1; }
done
sig="$(head -c 8 "$tmp/latest.png" | od -An -tx1 | tr -d ' \n')"
[[ "$sig" == 89504e470d0a1a0a ]] || { echo "bench_harness: FAIL: latest.png is not a PNG file" >&2; exit 1; }
echo "bench_harness: latest.md and latest.png written"
