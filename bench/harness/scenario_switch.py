"""Switch latency (request for B while A is loaded -> B's first token) and
memory stability over many switches."""

import os
import shutil

from harness import contenders as m
from harness.context import SWITCH_PROMPT
from harness.procs import (ServerError, run_tool, start_modeld, start_router,
                           write_modeld_config)
from harness.targets import RSS_GROWTH_LIMIT_KB
from harness.runner import Contender, alternate
from harness.util import log, ratio

SWITCH_TOKENS = 4
RSS_CHECKPOINTS = (2, 10, 50, 100)


def _modeld_cycle(port, a, b):
    out = []
    for frm, to in ((a, b), (b, a)):
        d = m.modeld_infer(port, to, SWITCH_PROMPT, SWITCH_TOKENS)
        d["group"] = f"{frm}->{to}"
        out.append(d)
    return out


def _router_cycle(port, a, b):
    out = []
    for frm, to in ((a, b), (b, a)):
        d = m.llama_completion(port, SWITCH_PROMPT, SWITCH_TOKENS, model=to)
        d["group"] = f"{frm}->{to}"
        out.append(d)
    return out


def _floor_cycle(b, a, bb):
    out = []
    for d in m.probe_switches(b.tool("floor-probe"), [(a, b.models[a]), (bb, b.models[bb])],
                              b.threads, b.ctx, SWITCH_PROMPT):
        d["group"] = f"{d['from']}->{d['to']}"
        out.append(d)
    return out


def _router_models_dir(b):
    """The router loads every .gguf of a folder, named by file name."""
    d = os.path.join(b.workdir, "router-models")
    os.makedirs(d, exist_ok=True)
    for mid, path in b.models.items():
        link = os.path.join(d, f"{mid}.gguf")
        if not os.path.lexists(link):
            os.symlink(path, link)
    return d


def run_switch(b, modeld):
    pairs = b.switch_pairs()
    out = {}
    if not pairs:
        return {"skipped": "switching needs two models (e.g. --models tiny,small)"}
    router, router_missing = None, b.missing.get("llama-server")
    if b.tool("llama-server"):
        try:
            router = start_router(b.tool("llama-server"), _router_models_dir(b), b.threads,
                                  b.ctx, b.workdir)
            names = {x.get("id") for x in router.models.get("data", [])}
            absent = [x for p in pairs for x in p if x not in names]
            if absent:
                router_missing = f"router mode lists no model named {absent} (has {sorted(names)})"
        except ServerError as e:
            router_missing = f"router mode failed to start: {str(e)[:300]}"
            log(router_missing)
    try:
        for a, bb in pairs:
            log(f"switch: {a}<->{bb}")
            groups = [f"{a}->{bb}", f"{bb}->{a}"]
            cs = [
                Contender("modeld", "ms", "ttft_ms", lambda: _modeld_cycle(modeld.port, a, bb),
                          groups=groups),
                Contender("llama-server-router", "ms", "ttft_ms",
                          lambda: _router_cycle(router.port, a, bb),
                          missing=None if router and not router_missing else router_missing,
                          groups=groups),
                Contender("floor", "ms", "total_ms", lambda: _floor_cycle(b, a, bb),
                          missing=b.missing.get("floor-probe"), groups=groups),
            ]
            # Each contender starts the rounds with A loaded: its warm-up
            # cycle (A->B->A) ends there, and so does every round.
            res = alternate(cs, b.reps, b.pause_s)
            for g in groups:
                med = {k: v["median"] for k, v in res[g].items()}
                out[g] = {"contenders": res[g], "ratios": {
                    "llama-server-router/modeld": ratio(med["llama-server-router"],
                                                        med["modeld"]),
                    "modeld/floor": ratio(med["modeld"], med["floor"])}}
    finally:
        if router is not None:
            router.stop()
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
