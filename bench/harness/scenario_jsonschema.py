"""Decode throughput with a JSON schema against without one (issue 15):
modeld's /infer with `json_schema` and llama-server's /completion with
`json_schema` (both convert it with llama.cpp's json_schema_to_grammar and
sample under llama.cpp's grammar sampler), beside the same free-text
decode. Same model file, threads, context and greedy sampling; raw prompt
(no chat template: the grammar applies to the reply only, on both)."""

import json
import os

from harness import client
from harness import contenders as m
from harness.context import DECODE_PROMPTS
from harness.procs import ServerError, start_llama_server, start_modeld, write_modeld_config
from harness.runner import Contender, alternate
from harness.util import log, ratio


def schema(n_items):
    """An array of exactly `n_items` small integers: long enough to time,
    bounded so that random weights finish it."""
    return {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 99},
            "minItems": n_items, "maxItems": n_items}


def _modeld_schema(port, mid, prompt, max_tokens, sch):
    body = {"model": mid, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
            "stream": True, "json_schema": sch}
    r = client.stream(port, "/infer", body, client.MARKERS["sse"])
    if r.error:
        raise m.MeasureError(r.error)
    name, final = client.final_event(r, "sse")
    if name != "done":
        raise m.MeasureError(f"HTTP {r.status}, final event {name}: {json.dumps(final)[:300]}")
    n = final["usage"]["completion_tokens"]
    return {"tokens": n, "finish_reason": final.get("finish_reason"),
            "tok_s": m._rate(r, n, final.get("timings", {}).get("generation_ms")),
            "total_ms": (r.t_end - r.t_send) * 1e3}


def _server_schema(port, prompt, max_tokens, sch):
    # No ignore_eos: a complete grammar allows only end-of-generation.
    body = {"prompt": prompt, "n_predict": max_tokens, "stream": True, "temperature": 0,
            "cache_prompt": False, "json_schema": sch}
    r = client.stream(port, "/completion", body, client.MARKERS["llama"])
    if r.error:
        raise m.MeasureError(r.error)
    name, final = client.final_event(r, "llama")
    if name != "done":
        raise m.MeasureError(f"HTTP {r.status}, final {name}: {json.dumps(final)[:300]}")
    timings = final.get("timings", {})
    n = timings.get("predicted_n", r.token_events)
    return {"tokens": n, "tok_s": m._rate(r, n, timings.get("predicted_ms")),
            "total_ms": (r.t_end - r.t_send) * 1e3}


def _prompt(server, n):
    """The first decode prompt llama-server streams `n` free tokens for (its
    /completion refuses some prompts on random weights, as in decode)."""
    for prompt in DECODE_PROMPTS:
        if server is None:
            return prompt
        try:
            m.llama_completion(server.port, prompt, n)
            return prompt
        except m.MeasureError as e:
            log(f"json_schema: llama-server refuses prompt {prompt[:40]!r}: {str(e)[:200]}")
    return DECODE_PROMPTS[0]


def _model(b, modeld, server, missing, mid):
    n = b.tokens
    prompt = _prompt(server, n)
    sch = schema(max(4, n // 3))
    limit = n * 4  # the schema ends first; this only guards against a runaway
    cs = [
        Contender("modeld-free", "tok/s", "tok_s",
                  lambda: [m.modeld_infer(modeld.port, mid, prompt, n, "sse")]),
        Contender("modeld-schema", "tok/s", "tok_s",
                  lambda: [_modeld_schema(modeld.port, mid, prompt, limit, sch)]),
        Contender("llama-server-free", "tok/s", "tok_s",
                  lambda: [m.llama_completion(server.port, prompt, n)], missing=missing),
        Contender("llama-server-schema", "tok/s", "tok_s",
                  lambda: [_server_schema(server.port, prompt, limit, sch)], missing=missing),
    ]
    res = alternate(cs, b.reps, b.pause_s)[None]
    med = {k: v["median"] for k, v in res.items()}
    return {"tokens": n, "schema": sch, "prompt": prompt, "contenders": res,
            "ratios": {
                "modeld-schema/llama-server-schema": ratio(med["modeld-schema"],
                                                           med["llama-server-schema"]),
                "modeld-free/llama-server-free": ratio(med["modeld-free"],
                                                       med["llama-server-free"]),
                "modeld-schema/modeld-free": ratio(med["modeld-schema"], med["modeld-free"]),
                "llama-server-schema/llama-server-free": ratio(med["llama-server-schema"],
                                                               med["llama-server-free"])}}


def run(b):
    """Returns {model: result}: one modeld for all measured models, one
    llama-server per model."""
    models = b.measured_models()
    config = os.path.join(b.workdir, "json_schema.yaml")
    write_modeld_config(config, {mid: b.models[mid] for mid in models}, b.threads, b.ctx)
    modeld = start_modeld(b.tools["modeld"], config, b.threads, b.workdir, "modeld-json-schema")
    out = {}
    try:
        for mid in models:
            server, missing = None, b.missing.get("llama-server")
            if b.tool("llama-server"):
                try:
                    server = start_llama_server(b.tool("llama-server"), b.models[mid],
                                                b.threads, b.ctx, b.workdir,
                                                f"llama-server-json-schema-{mid}")
                except ServerError as e:
                    log(str(e))
                    missing = f"failed to start: {str(e)[:300]}"
            log(f"json_schema: {mid}")
            try:
                out[mid] = _model(b, modeld, server, missing, mid)
            finally:
                if server is not None:
                    server.stop()
    finally:
        modeld.stop()
    return out
