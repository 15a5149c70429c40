"""Cold page cache: the switch scenario's measurement (request for B while A
is loaded -> B's first token) with B's file dropped from the page cache
first (posix_fadvise DONTNEED, untimed), for modeld, both router contenders
and the floor probe.

The kernel keeps the pages a process still maps, so each contender runs
every cycle in a fresh process of its own, started and stopped around the
cycle (untimed), with no other contender's server alive: it loads A, then
B's file is evicted and A->B measured, then A's file (freed by that switch)
is evicted and B->A measured. The floor probe evicts inside itself
(--drop-cache) at the same points. Every sample records how much of the file
stayed cached after the eviction (cache_left_pct, from mincore), so a file
some other process maps shows up instead of passing for cold."""

import contextlib
import os

from harness import contenders as m
from harness import pagecache
from harness import switching as sw
from harness.context import SWITCH_PROMPT
from harness.procs import ServerError, start_modeld, write_modeld_config
from harness.runner import Contender, alternate
from harness.util import log, ratio

METHOD = ("posix_fadvise(POSIX_FADV_DONTNEED) on the target file before each measured "
          "switch, after the target was switched away from; a fresh server per cycle")


@contextlib.contextmanager
def _fresh(start):
    """A server for one cycle; a failed start fails the sample, not the run."""
    try:
        srv = start()
    except ServerError as e:
        raise m.MeasureError(f"could not start: {str(e)[:300]}") from e
    try:
        yield srv
    finally:
        srv.stop()


def _evict(b):
    return lambda to: {"cache_left_pct": pagecache.evict(b.models[to])}


def _modeld_cycle(b, config, a, bb):
    with _fresh(lambda: start_modeld(b.tools["modeld"], config, b.threads, b.workdir,
                                     "modeld-coldcache")) as srv:
        m.modeld_infer(srv.port, a, SWITCH_PROMPT, 1)  # A loaded, untimed
        return sw.modeld_cycle(srv, a, bb, _evict(b))


def _router_cycle(b, name, thp, a, bb):
    with _fresh(lambda: sw.start_one_router(b, name, thp, "coldcache")) as srv:
        m.llama_completion(srv.port, SWITCH_PROMPT, 1, model=a)  # A loaded, untimed
        return sw.router_cycle(srv.port, a, bb, _evict(b))


def _contenders(b, config, a, bb):
    groups = sw.directions(a, bb)
    router_missing = None if b.tool("llama-server") else \
        b.missing.get("llama-server", "llama-server not available")
    cs = [Contender("modeld", "ms", "ttft_ms", lambda: _modeld_cycle(b, config, a, bb),
                    groups=groups)]
    cs += [Contender(name, "ms", "ttft_ms",
                     lambda name=name, thp=thp: _router_cycle(b, name, thp, a, bb),
                     missing=router_missing, groups=groups)
           for name, thp in sw.ROUTERS]
    cs.append(sw.floor_contender(b, a, bb, drop_cache=True))
    return cs


def _pair(b, config, a, bb):
    res = alternate(_contenders(b, config, a, bb), b.reps, b.pause_s)
    out = {}
    for g in sw.directions(a, bb):
        c = res[g]
        ratios = sw.router_ratios(c, "modeld")
        ratios["modeld/floor"] = ratio(c["modeld"]["median"], c["floor"]["median"])
        left = {name: sw.medians(e, ("cache_left_pct",))["cache_left_pct"]
                for name, e in c.items()}
        out[g] = {"contenders": c, "ratios": ratios, "cache_left_pct": left,
                  **sw.breakdown(c)}
    return out


def run(b):
    """Every server of the earlier scenarios must be stopped by now (they
    would keep the files mapped, and so cached)."""
    pairs = b.switch_pairs()
    if not pairs:
        return {"skipped": "switching needs two models (e.g. --models tiny,small)"}
    config = os.path.join(b.workdir, "coldcache.yaml")
    write_modeld_config(config, b.models, b.threads, b.ctx)
    out = {"method": METHOD, "directions": {}}
    for a, bb in pairs:
        log(f"coldcache: {a}<->{bb}")
        out["directions"].update(_pair(b, config, a, bb))
    return out
