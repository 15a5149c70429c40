"""Switch latency (request for B while A is loaded -> B's first token) with
its phases and page faults, and memory stability over many switches."""

import os
import shutil

from harness import contenders as m
from harness import switching as sw
from harness.context import SWITCH_PROMPT
from harness.procs import run_tool, start_modeld, write_modeld_config
from harness.targets import RSS_GROWTH_LIMIT_KB
from harness.runner import Contender, alternate
from harness.util import log, ratio

RSS_CHECKPOINTS = (2, 10, 50, 100)


def _pair(b, modeld, started, a, bb):
    """The switch block of each direction of one pair: modeld, both routers
    and the floor probe, alternated; medians of phases and page faults."""
    cs = [Contender("modeld", "ms", "ttft_ms", lambda: sw.modeld_cycle(modeld, a, bb),
                    groups=sw.directions(a, bb))]
    cs += sw.router_contenders(started, a, bb)
    cs.append(sw.floor_contender(b, a, bb))
    # Each contender starts the rounds with A loaded: its warm-up cycle
    # (A->B->A) ends there, and so does every round.
    res = alternate(cs, b.reps, b.pause_s)
    out = {}
    for g in sw.directions(a, bb):
        c = res[g]
        ratios = sw.router_ratios(c, "modeld")
        ratios["modeld/floor"] = ratio(c["modeld"]["median"], c["floor"]["median"])
        out[g] = {"contenders": c, "ratios": ratios, **sw.breakdown(c)}
    return out


def run_switch(b, modeld):
    """Request for B while A is loaded -> B's first token, warm page cache,
    for every neighbouring pair; `modeld` is the run's shared modeld."""
    pairs = b.switch_pairs()
    if not pairs:
        return {"skipped": "switching needs two models (e.g. --models tiny,small)"}
    out = {}
    with sw.routers(b, pairs, "switch") as started:
        for a, bb in pairs:
            log(f"switch: {a}<->{bb}")
            out.update(_pair(b, modeld, started, a, bb))
    return out


def _trim_experiment(srv, samples):
    """When RSS grew past the limit: is it freed heap that glibc keeps? Calls
    malloc_trim(0) inside the live modeld through gdb and reports RSS before
    and after (an experiment only; modeld's code is not changed)."""
    by_n = {s["switch"]: s for s in samples}
    if 2 not in by_n or samples[-1]["VmRSS"] - by_n[2]["VmRSS"] <= RSS_GROWTH_LIMIT_KB:
        return {}
    if not shutil.which("gdb"):
        return {"malloc_trim": "growth over the limit, but gdb is not installed to test trimming"}
    before = srv.rss()
    rc, _, err = run_tool(["gdb", "-p", str(srv.pid), "-batch", "-nx",
                           "-ex", "call (int)malloc_trim(0)"], 120)
    after = srv.rss()
    return {"malloc_trim": {"gdb_rc": rc, "before": before, "after": after,
                            "freed_kb": before["VmRSS"] - after["VmRSS"],
                            "stderr_tail": err.decode(errors="replace")[-200:]}}


def run_memory(b):
    """A fresh modeld, N switches between the first pair, RSS after each."""
    pairs = b.switch_pairs()
    if not pairs:
        return {"skipped": "switching needs two models (e.g. --models tiny,small)"}
    a, bb = pairs[0]
    config = os.path.join(b.workdir, "memory.yaml")
    write_modeld_config(config, {a: b.models[a], bb: b.models[bb]}, b.threads, b.ctx)
    srv = start_modeld(b.tools["modeld"], config, b.threads, b.workdir, "modeld-memory")
    samples, errors = [], []
    try:
        m.modeld_infer(srv.port, a, SWITCH_PROMPT, 1)  # initial load, not a switch
        baseline = srv.rss()
        for i in range(1, b.memory_switches + 1):
            to = bb if i % 2 else a
            try:
                m.modeld_infer(srv.port, to, SWITCH_PROMPT, 1)
            except m.MeasureError as e:
                errors.append(f"switch {i}: {e}")
            samples.append({"switch": i, "loaded": to, **srv.rss()})
        experiments = _trim_experiment(srv, samples)
    finally:
        srv.stop()
    by_n = {s["switch"]: s for s in samples}
    checkpoints = {str(n): by_n[n] for n in RSS_CHECKPOINTS if n in by_n}
    first = by_n.get(2)
    last = samples[-1] if samples else None
    growth = None if not first or not last else last["VmRSS"] - first["VmRSS"]
    return {"pair": [a, bb], "switches": b.memory_switches, "baseline_after_first_load": baseline,
            "checkpoints": checkpoints, "samples": samples, "errors": errors,
            "experiments": experiments, "growth_kb": growth, "growth_from": 2, "growth_to": last["switch"] if last else None,
            "anon_growth_kb": None if not first or not last
            else last["RssAnon"] - first["RssAnon"]}
