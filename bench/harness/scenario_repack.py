"""Weight repacking on Q4_0 models: llama.cpp's use_extra_bufts (modeld's
per-model `repack:`, true by default) copies Q4_0 weights into a layout the
CPU kernels decode faster, at the cost of a slower load (a copy out of the
file mapping instead of using it in place). The trade-off, per Q4_0 model
of the run (the GGUF's general.file_type says which):

one modeld with the file twice, `<id>-repack` (repack: true) and
`<id>-no-repack` (repack: false), prompt cache off. Each sample is one
/infer request to one variant while the other is loaded, alternating: it
switches (loads from the file, warm page cache), then decodes the decode
scenario's tokens greedily with its prompt. Per variant: the switch log's
model_ms (reading the file, repacking) and load_ms, request -> first token
(switch included), decode tok/s (first to last token, after the switch), RSS
after the request and the page faults during it."""

import os

from harness import gguf
from harness import switching as sw
from harness.context import DECODE_PROMPTS
from harness.procs import start_modeld, write_modeld_config
from harness.runner import Contender, alternate
from harness.util import log, ratio

VARIANTS = (("modeld-repack", "repack", True), ("modeld-no-repack", "no-repack", False))
SWITCH_KEYS = ("model_ms", "context_ms", "load_ms", "warmup_ms")
REQUEST_KEYS = ("ttft_ms", "tok_s") + sw.FAULTS
RSS_KEYS = ("VmRSS", "RssAnon", "RssFile")
COMPARED = ("model_ms", "load_ms", "ttft_ms", "tok_s", "RssAnon")


def file_types(b):
    return {mid: gguf.file_type(b.models[mid]) for mid in b.measured_models()}


def _request(srv, vid, prompt, tokens):
    d = sw.modeld_request(srv, vid, prompt, tokens)
    d["rss_kb"] = srv.rss()
    return d


def summary(entry):
    """Medians of one variant: switch phases, the request, RSS after it."""
    out = sw.medians(entry, SWITCH_KEYS, lambda d: d.get("switch"))
    out.update(sw.medians(entry, REQUEST_KEYS))
    out.update(sw.medians(entry, RSS_KEYS, lambda d: d.get("rss_kb")))
    return out


def _model(b, mid, prompt):
    ids = {name: f"{mid}-{suffix}" for name, suffix, _ in VARIANTS}
    config = os.path.join(b.workdir, f"repack-{mid}.yaml")
    write_modeld_config(config, {vid: b.models[mid] for vid in ids.values()}, b.threads, b.ctx,
                        prompt_cache_bytes=0,
                        repack={ids[name]: on for name, _, on in VARIANTS})
    srv = start_modeld(b.tools["modeld"], config, b.threads, b.workdir, f"modeld-repack-{mid}")
    try:
        cs = [Contender(name, "ms", "ttft_ms",
                        lambda vid=ids[name]: [_request(srv, vid, prompt, b.tokens)])
              for name, _, _ in VARIANTS]
        res = alternate(cs, b.reps, b.pause_s)[None]
    finally:
        srv.stop()
    sums = {name: summary(e) for name, e in res.items()}
    return {"model_ids": ids, "prompt": prompt, "tokens": b.tokens, "contenders": res,
            "summary": sums,
            "ratios": {f"no-repack/repack {k}": ratio(sums["modeld-no-repack"][k],
                                                      sums["modeld-repack"][k])
                       for k in COMPARED}}


def run(b, decode=None):
    """`decode`: the decode scenario's results, for its prompt per model."""
    types = file_types(b)
    q4 = [mid for mid, t in types.items() if t == "Q4_0"]
    if not q4:
        listed = ", ".join(f"{mid} {t}" for mid, t in types.items())
        return {"skipped": f"no Q4_0 model in this run ({listed}); 1b is Q4_0",
                "file_types": types}
    out = {"file_types": types, "models": {}}
    for mid in q4:
        log(f"repack: {mid}")
        prompt = ((decode or {}).get(mid) or {}).get("prompt", DECODE_PROMPTS[0])
        out["models"][mid] = _model(b, mid, prompt)
    return out
