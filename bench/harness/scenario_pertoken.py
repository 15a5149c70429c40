"""Per-token cost on modeld's serving path, in counts rather than time:
heap allocations per token and per event (Google Benchmark with a counting
allocator), instructions per SSE event (callgrind), and the end-to-end
per-token time of modeld /infer against llama-bench tg on tiny."""

import glob
import json
import os
import shutil

from harness.procs import run_tool
from harness.util import log

CALLGRIND_EVENTS = 2000


def _google_benchmark(binary, quick):
    argv = [binary, "--benchmark_format=json",
            f"--benchmark_min_time={0.05 if quick else 0.5}"]
    rc, out, err = run_tool(argv, 300)
    if rc != 0:
        return {"status": "failed", "reason": err.decode(errors="replace")[-300:]}
    data = json.loads(out)
    rows, check = {}, None
    for bm in data.get("benchmarks", []):
        if bm["name"].startswith("BM_CountingAllocatorCheck"):
            check = bm.get("allocs_per_iteration")
            continue
        rows[bm["name"]] = {k: bm.get(k) for k in (
            "allocs_per_token", "allocs_per_event", "wire_bytes_per_event", "tokens",
            "events", "allocs", "cpu_time", "real_time", "time_unit", "items_per_second")}
    if check != 1:
        return {"status": "failed", "benchmarks": rows,
                "reason": f"the counting allocator self-check saw {check} allocations, not 1"}
    steady = max(r["allocs_per_token"] for r in rows.values()) if rows else None
    return {"status": "ok", "benchmarks": rows, "max_allocs_per_token": steady,
            "allocator_self_check": check, "context": data.get("context", {})}


def _callgrind(binary, workdir, batch):
    if not shutil.which("valgrind"):
        return {"status": "missing", "reason": "valgrind not installed"}
    outfile = os.path.join(workdir, f"callgrind.batch{batch}.out")
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={outfile}", binary,
            f"--callgrind-events={CALLGRIND_EVENTS}", f"--batch={batch}"]
    rc, out, err = run_tool(argv, 600)
    if rc != 0:
        return {"status": "failed", "reason": err.decode(errors="replace")[-300:]}
    run = json.loads(out.decode().strip().splitlines()[-1])
    ir = 0
    for path in glob.glob(outfile + "*"):
        found = {}
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    key, value = line.split()[:2]
                    found[key] = int(value)
        ir += found.get("totals:", found.get("summary:", 0))
    if not ir:
        return {"status": "failed", "reason": "no instruction totals in callgrind output"}
    return {"status": "ok", "events": run["events"], "tokens": run["tokens"],
            "allocs": run["allocs"], "instructions": ir,
            "instructions_per_event": ir / run["events"],
            "instructions_per_token": ir / run["tokens"]}


def _end_to_end(decode):
    """Per-token microseconds of each decode contender on tiny, and modeld's
    overhead against llama-bench (pure llama.cpp) and llama-server."""
    tiny = decode.get("tiny") if decode else None
    if not tiny:
        return {"status": "missing", "reason": "needs the decode scenario on tiny"}
    us = {}
    for name, e in tiny["contenders"].items():
        us[name] = None if not e.get("median") else 1e6 / e["median"]
    bench = next((v for k, v in us.items() if k.startswith("llama-bench")), None)
    over = {}
    for ours in ("modeld-sse", "modeld-ndjson"):
        if us.get(ours) is None:
            continue
        if bench is not None:
            over[f"{ours}-vs-llama-bench"] = us[ours] - bench
        if us.get("llama-server") is not None:
            over[f"{ours}-vs-llama-server"] = us[ours] - us["llama-server"]
    return {"status": "ok", "us_per_token": us, "overhead_us_per_token": over}


def run(b, decode):
    out = {}
    binary = b.tool("serving-path-bench")
    if binary:
        log("pertoken: allocation counts")
        out["allocations"] = _google_benchmark(binary, b.quick)
        log("pertoken: callgrind instruction counts")
        out["instructions"] = {f"batch{k}": _callgrind(binary, b.workdir, k) for k in (1, 8)}
    else:
        reason = b.missing.get("serving-path-bench", "not built")
        out["allocations"] = {"status": "missing", "reason": reason}
        out["instructions"] = {"status": "missing", "reason": reason}
    out["end_to_end"] = _end_to_end(decode)
    return out
