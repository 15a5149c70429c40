"""What the switching scenarios (switch, standby, coldcache, repack) share:
one modeld request with what it cost (the switch log line modeld wrote for
it: free, model load, context and warm-up; and its page faults), the router
contenders, the floor probe, and medians of phases and faults per contender."""

import contextlib
import json
import os
import statistics
from numbers import Number

from harness import contenders as m
from harness.context import SWITCH_PROMPT
from harness.procs import ServerError, hugetlb_env, modeld_malloc_env, start_router
from harness.runner import Contender
from harness.util import log, ratio

SWITCH_TOKENS = 4
# modeld's switch log line (internal/manager/log_observer.cpp): load_ms =
# model_ms + context_ms. The floor probe's JSON lines: load_ms is the model only.
MODELD_PHASES = ("free_ms", "model_ms", "context_ms", "warmup_ms", "load_ms")
# rest_ms: request -> first token minus modeld's switch (free, load, warm-up):
# the HTTP request, queueing, the prompt's decode and the first token.
MODELD_BREAKDOWN = MODELD_PHASES + ("rest_ms",)
FLOOR_PHASES = ("free_ms", "load_ms", "ctx_ms", "first_token_ms")
FAULTS = ("minflt", "majflt")
# The router as users run it (our environment), and with modeld's allocator
# setting (glibc.malloc.hugetlb=1), which its model instances inherit.
ROUTERS = (("llama-server-router", False), ("llama-server-router-thp", True))


def directions(a, bb):
    return [f"{a}->{bb}", f"{bb}->{a}"]


def switch_lines(srv, offset):
    """modeld's switch log lines (parsed) written after byte `offset`."""
    out = []
    for line in srv.log_since(offset):
        if '"msg":"switch"' in line:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def _faults(srv):
    try:
        return srv.faults()
    except OSError as e:  # the process is gone
        raise m.MeasureError(f"{srv.name}: no /proc/{srv.pid}/stat: {e}") from e


def with_faults(srv, fn):
    """fn() -> detail, with the page faults `srv`'s process took meanwhile
    (/proc/<pid>/stat before and after) added as minflt and majflt."""
    f0 = _faults(srv)
    d = fn()
    f1 = _faults(srv)
    d.update({k: f1[k] - f0[k] for k in FAULTS})
    return d


def modeld_request(srv, to, prompt=SWITCH_PROMPT, tokens=SWITCH_TOKENS):
    """One /infer request to modeld `srv` (a Server we started) with its page
    faults and, under "switch", the switch log line modeld wrote for it (None
    when it did not switch). modeld writes that line before it serves the
    request's first token, so it is in the log once the request is done."""
    offset = srv.log_size()
    d = with_faults(srv, lambda: m.modeld_infer(srv.port, to, prompt, tokens))
    lines = [r for r in switch_lines(srv, offset) if r.get("to") == to]
    d["switch"] = lines[-1] if lines else None
    if d["switch"] and d.get("ttft_ms") is not None:
        d["rest_ms"] = d["ttft_ms"] - sum(d["switch"].get(k) or 0
                                          for k in ("free_ms", "load_ms", "warmup_ms"))
    return d


def modeld_cycle(srv, a, bb, before=None):
    """A->B then B->A on modeld; `before(target)` runs ahead of each switch,
    untimed, and may add fields to the detail (a dict) or return None."""
    out = []
    for frm, to in ((a, bb), (bb, a)):
        extra = before(to) if before else None
        d = modeld_request(srv, to)
        d.update(extra or {})
        d["group"] = f"{frm}->{to}"
        out.append(d)
    return out


def router_cycle(port, a, bb, before=None):
    out = []
    for frm, to in ((a, bb), (bb, a)):
        extra = before(to) if before else None
        d = m.llama_completion(port, SWITCH_PROMPT, SWITCH_TOKENS, model=to)
        d.update(extra or {})
        d["group"] = f"{frm}->{to}"
        out.append(d)
    return out


def floor_cycle(b, a, bb, drop_cache=False):
    """A->B then B->A in the floor probe, under modeld's allocator setting."""
    out = []
    for d in m.probe_switches(b.tool("floor-probe"), [(a, b.models[a]), (bb, b.models[bb])],
                              b.threads, b.ctx, SWITCH_PROMPT, env=modeld_malloc_env(),
                              drop_cache=drop_cache):
        d["group"] = f"{d['from']}->{d['to']}"
        out.append(d)
    return out


def floor_contender(b, a, bb, drop_cache=False):
    return Contender("floor", "ms", "total_ms", lambda: floor_cycle(b, a, bb, drop_cache),
                     missing=b.missing.get("floor-probe"), groups=directions(a, bb))


def router_models_dir(b):
    """The router loads every .gguf of a folder, named by file name."""
    d = os.path.join(b.workdir, "router-models")
    os.makedirs(d, exist_ok=True)
    for mid, path in b.models.items():
        link = os.path.join(d, f"{mid}.gguf")
        if not os.path.lexists(link):
            os.symlink(path, link)
    return d


def start_one_router(b, name, thp, tag):
    """Starts one router contender; returns the Server. Raises ServerError."""
    return start_router(b.tool("llama-server"), router_models_dir(b), b.threads, b.ctx,
                        b.workdir, f"{tag}-{name}.log", env=hugetlb_env() if thp else None,
                        name=name)


def _router_or_reason(b, pairs, name, thp, tag):
    """(server, None) or (None, why it cannot be measured)."""
    if not b.tool("llama-server"):
        return None, b.missing.get("llama-server", "llama-server not available")
    try:
        srv = start_one_router(b, name, thp, tag)
    except ServerError as e:
        why = f"router mode failed to start: {str(e)[:300]}"
        log(f"{name}: {why}")
        return None, why
    names = {x.get("id") for x in srv.models.get("data", [])}
    absent = sorted({x for p in pairs for x in p} - names)
    if absent:
        srv.stop()
        return None, f"router mode lists no model named {absent} (has {sorted(names)})"
    return srv, None


@contextlib.contextmanager
def routers(b, pairs, tag):
    """Both router contenders, running: {name: (server or None, missing reason)}.
    Stopped on leaving the block."""
    started = {}
    try:
        for name, thp in ROUTERS:
            started[name] = _router_or_reason(b, pairs, name, thp, tag)
        yield started
    finally:
        for srv, _ in started.values():
            if srv is not None:
                srv.stop()


def router_contenders(started, a, bb, before=None):
    return [Contender(name, "ms", "ttft_ms",
                      lambda srv=srv: router_cycle(srv.port, a, bb, before),
                      missing=why, groups=directions(a, bb))
            for name, (srv, why) in started.items()]


def medians(entry, keys, pick=None):
    """{key: median over the contender's sample details} (None where no
    sample has a number). `pick(detail)` chooses the dict to read."""
    out = {}
    for k in keys:
        vals = []
        for d in entry.get("details") or []:
            v = (pick(d) if pick else d) or {}
            v = v.get(k)
            if isinstance(v, Number) and not isinstance(v, bool):
                vals.append(v)
        out[k] = statistics.median(vals) if vals else None
    return out


def _switch_line(d):
    return d.get("switch")


def breakdown(contenders):
    """Phases and page faults per switch, medians per contender: modeld's
    from its switch log lines (every contender named modeld*), the floor
    probe's from its own output. Routers have neither."""
    phases, faults = {}, {}
    for name, e in contenders.items():
        if name.startswith("modeld"):
            phases[name] = {**medians(e, MODELD_PHASES, _switch_line), **medians(e, ("rest_ms",))}
        elif name == "floor":
            phases[name] = medians(e, FLOOR_PHASES)
        else:
            continue
        faults[name] = medians(e, FAULTS)
    return {"phases": phases, "faults": faults}


def router_ratios(contenders, ours):
    """router/ours and router-thp/ours from the medians."""
    med = {k: v["median"] for k, v in contenders.items()}
    return {f"{name}/{ours}": ratio(med.get(name), med.get(ours)) for name, _ in ROUTERS}
