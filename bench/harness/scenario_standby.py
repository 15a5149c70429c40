"""Standby: switch-back time when the weights of the model switched to were
kept loaded. A modeld of its own with `standby_bytes` = twice the size of
every model file of the run (room for all of them), warmed up by visiting
every model once, so each later switch takes the target's weights from
standby: request for B while A is loaded -> B's first token, as the switch
scenario measures it, alternated with both router contenders (which have no
such thing and load B from the file, warm page cache).

The switch log line of each request says whether the weights came from
standby ("standby": true); the JSON counts those, and keeps modeld's
modeld_standby_hits_total and modeld_standby_bytes from /metrics."""

import os
import re
import urllib.request

from harness import contenders as m
from harness import switching as sw
from harness.context import SWITCH_PROMPT
from harness.procs import start_modeld, write_modeld_config
from harness.runner import Contender, alternate
from harness.util import log

METRICS = ("modeld_standby_hits_total", "modeld_standby_bytes", "modeld_standby_models")


def standby_bytes(b, ids):
    """Room for every model of the run, twice over."""
    return 2 * sum(os.path.getsize(b.models[mid]) for mid in ids)


def standby_metrics(port):
    """The standby counters from /metrics (summed over labels; None when absent)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode(errors="replace")
    except OSError as e:
        return {"error": str(e)}
    out = {}
    for name in METRICS:
        vals = re.findall(rf"^{name}(?:\{{[^}}]*\}})?\s+(\S+)$", text, re.M)
        out[name] = sum(float(v) for v in vals) if vals else None
    return out


def _hits(entry):
    """How many of the contender's samples took the weights from standby."""
    details = entry.get("details") or []
    return {"n": len(details),
            "from_standby": sum(1 for d in details if (d.get("switch") or {}).get("standby"))}


def _pair(b, srv, started, a, bb):
    cs = [Contender("modeld-standby", "ms", "ttft_ms", lambda: sw.modeld_cycle(srv, a, bb),
                    groups=sw.directions(a, bb))]
    cs += sw.router_contenders(started, a, bb)
    res = alternate(cs, b.reps, b.pause_s)
    out = {}
    for g in sw.directions(a, bb):
        c = res[g]
        out[g] = {"contenders": c, "ratios": sw.router_ratios(c, "modeld-standby"),
                  "standby_hits": _hits(c["modeld-standby"]), **sw.breakdown(c)}
    return out


def run(b):
    pairs = b.switch_pairs()
    if not pairs:
        return {"skipped": "switching needs two models (e.g. --models tiny,small)"}
    ids = [mid for mid in b.models if any(mid in p for p in pairs)]
    nbytes = standby_bytes(b, ids)
    config = os.path.join(b.workdir, "standby.yaml")
    write_modeld_config(config, {mid: b.models[mid] for mid in ids}, b.threads, b.ctx,
                        standby_bytes=nbytes)
    srv = start_modeld(b.tools["modeld"], config, b.threads, b.workdir, "modeld-standby")
    out = {"standby_bytes": nbytes, "models": ids, "directions": {}}
    try:
        with sw.routers(b, pairs, "standby") as started:
            for mid in ids:  # visit every model once: all but the last go to standby
                m.modeld_infer(srv.port, mid, SWITCH_PROMPT, 1)
            for a, bb in pairs:
                log(f"standby: {a}<->{bb}")
                out["directions"].update(_pair(b, srv, started, a, bb))
        out["metrics"] = standby_metrics(srv.port)
        out["rss_kb"] = srv.rss()
    finally:
        srv.stop()
    return out
