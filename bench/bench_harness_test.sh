#!/usr/bin/env bash
# CTest guard for the benchmark harness (label bench): runs the quick profile
# on tiny into a temporary folder and checks the results JSON has every field.
# No speed assertions. It does not need llama.cpp's tools: it runs with
# --no-llama-tools and checks that llama-bench, llama-server and the router
# are marked missing with a reason, while modeld, the floor probe and the
# serving-path benchmark measured (concurrency: modeld at 1 and 2 clients;
# chat: modeld with and without switches, 3 turns, cached_tokens each turn;
# switch and coldcache: modeld's phases from its switch log and page faults
# beside the floor probe's; standby: every switch-back from standby; decode:
# page faults and AnonHugePages; repack: skipped, tiny is not Q4_0).
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
  --expect-ok modeld-sse,modeld-ndjson,modeld,modeld-switch,modeld-standby,floor,modeld-free,modeld-schema \
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
sc = doc["scenarios"]
alloc = doc["config"]["allocator"]
assert alloc["floor"] == alloc["modeld"], alloc
assert "glibc.malloc.hugetlb=1" in alloc["llama-server-router-thp"], alloc
dec = sc["decode"]["tiny"]
assert isinstance(dec["modeld_anon_huge_kb"], int), dec["modeld_anon_huge_kb"]
assert all(isinstance(v, int) for d in dec["contenders"]["modeld-sse"]["details"]
           for v in (d["minflt"], d["majflt"])), "decode: page faults per request missing"
for name in ("switch", "coldcache"):
    dirs = sc[name] if name == "switch" else sc[name]["directions"]
    assert sorted(dirs) == ["tiny->tiny-b", "tiny-b->tiny"], (name, list(dirs))
    for block in dirs.values():
        for d in block["contenders"]["modeld"]["details"]:
            assert d["switch"] and d["switch"]["to"] in ("tiny", "tiny-b"), d
            assert isinstance(d["minflt"], int) and isinstance(d["rest_ms"], float), d
        for d in block["contenders"]["floor"]["details"]:
            assert isinstance(d["minflt"], int) and isinstance(d["majflt"], int), d
            assert (name == "coldcache") == ("cache_left_pct" in d), d
        assert set(block["phases"]) == {"modeld", "floor"}, block["phases"]
for g, block in sc["standby"]["directions"].items():
    hits = block["standby_hits"]
    assert hits["n"] > 0 and hits["from_standby"] == hits["n"], (g, hits)
assert sc["standby"]["metrics"]["modeld_standby_hits_total"] >= 2, sc["standby"]["metrics"]
assert "skipped" in sc["repack"] and sc["repack"]["file_types"]["tiny"] == "F16", sc["repack"]
print("bench_harness: pertoken, memory, concurrency, chat, switch phases, standby, "
      "coldcache and repack fields present")
PY
for f in latest.md latest.png; do
  [[ -s "$tmp/$f" ]] || { echo "bench_harness: FAIL: $f was not written" >&2; exit 1; }
done
sig="$(head -c 8 "$tmp/latest.png" | od -An -tx1 | tr -d ' \n')"
[[ "$sig" == 89504e470d0a1a0a ]] || { echo "bench_harness: FAIL: latest.png is not a PNG file" >&2; exit 1; }
echo "bench_harness: latest.md and latest.png written"
