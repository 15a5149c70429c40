"""Decode throughput and time to first token, per model: modeld (SSE and
ndjson) against llama-server (one slot) and llama-bench, same model file,
threads, context and greedy sampling."""

from harness import contenders as m
from harness.context import DECODE_PROMPT, TTFT_PROMPT_TOKENS
from harness.procs import ServerError, start_llama_server
from harness.runner import Contender, alternate
from harness.util import log, ratio

FILLER_WORDS = ("the quick brown fox jumps over a lazy dog while seven small birds "
                "sing in the old garden near the river and children play").split()


def calibrate_prompt(count, target):
    """A prompt that tokenizes (with BOS) to exactly `target` tokens, found
    with `count(text) -> tokens`. Returns (text, tokens)."""
    def text_of(n):
        return " ".join(FILLER_WORDS[i % len(FILLER_WORDS)] for i in range(n))
    lo, hi = 1, target * 2
    while lo < hi:  # the most words that stay within target
        mid = (lo + hi + 1) // 2
        if count(text_of(mid)) <= target:
            lo = mid
        else:
            hi = mid - 1
    text = text_of(lo)
    n = count(text)
    for filler in (" a", " b", " x", ",", "."):
        trial = text
        while n < target:
            k = count(trial + filler)
            if k > target:
                break
            trial, n = trial + filler, k
        text = trial
        if n == target:
            break
    return text, n


def _server_missing(b, server):
    if server is not None:
        return None
    return b.missing.get("llama-server", "llama-server could not start")


def _decode(b, modeld, server, mid):
    path, n = b.models[mid], b.tokens
    cs = [
        Contender("modeld-sse", "tok/s", "tok_s",
                  lambda: [m.modeld_infer(modeld.port, mid, DECODE_PROMPT, n, "sse")]),
        Contender("modeld-ndjson", "tok/s", "tok_s",
                  lambda: [m.modeld_infer(modeld.port, mid, DECODE_PROMPT, n, "ndjson")]),
        Contender("llama-server", "tok/s", "tok_s",
                  lambda: [m.llama_completion(server.port, DECODE_PROMPT, n)],
                  missing=_server_missing(b, server)),
        Contender(f"llama-bench-tg{n}", "tok/s", "tok_s",
                  lambda: [m.llama_bench(b.tool("llama-bench"), path, b.threads, 0, n)],
                  missing=b.missing.get("llama-bench")),
    ]
    res = alternate(cs, b.reps, b.pause_s)[None]
    med = {k: v["median"] for k, v in res.items()}
    ratios = {}
    for ours in ("modeld-sse", "modeld-ndjson"):
        ratios[f"{ours}/llama-server"] = ratio(med[ours], med["llama-server"])
        ratios[f"{ours}/llama-bench-tg{n}"] = ratio(med[ours], med[f"llama-bench-tg{n}"])
    return {"tokens": n, "prompt": DECODE_PROMPT, "contenders": res, "ratios": ratios}


def _ttft(b, modeld, server, mid, count):
    path = b.models[mid]
    prompt, n_prompt = calibrate_prompt(count, TTFT_PROMPT_TOKENS)
    cs = [
        Contender("modeld", "ms", "ttft_ms",
                  lambda: [m.modeld_infer(modeld.port, mid, prompt, 2, "sse")]),
        Contender("llama-server", "ms", "ttft_ms",
                  lambda: [m.llama_completion(server.port, prompt, 2)],
                  missing=_server_missing(b, server)),
        Contender(f"llama-bench-pp{TTFT_PROMPT_TOKENS}", "ms", "ms",
                  lambda: [m.llama_bench(b.tool("llama-bench"), path, b.threads,
                                         TTFT_PROMPT_TOKENS, 0)],
                  missing=b.missing.get("llama-bench")),
    ]
    res = alternate(cs, b.reps, b.pause_s)[None]
    med = {k: v["median"] for k, v in res.items()}
    pp = med[f"llama-bench-pp{TTFT_PROMPT_TOKENS}"]
    return {"prompt_tokens": n_prompt, "prompt_chars": len(prompt), "contenders": res,
            "ratios": {"modeld/llama-server": ratio(med["modeld"], med["llama-server"]),
                       f"modeld/llama-bench-pp{TTFT_PROMPT_TOKENS}": ratio(med["modeld"], pp)},
            "deltas_ms": {f"modeld-llama-bench-pp{TTFT_PROMPT_TOKENS}":
                          None if med["modeld"] is None or pp is None else med["modeld"] - pp}}


def run(b, modeld, want, count_tokens):
    """`want` is a subset of {"decode", "ttft"}. Returns {scenario: {model: result}}."""
    out = {s: {} for s in want}
    for mid in b.measured_models():
        server = None
        if b.tool("llama-server"):
            try:
                server = start_llama_server(b.tool("llama-server"), b.models[mid], b.threads,
                                            b.ctx, b.workdir, f"llama-server-{mid}")
            except ServerError as e:
                log(str(e))
                b.missing.setdefault("llama-server", f"failed to start: {str(e)[:300]}")
        try:
            if "decode" in want:
                log(f"decode: {mid}")
                out["decode"][mid] = _decode(b, modeld, server, mid)
            if "ttft" in want:
                log(f"ttft: {mid}")
                out["ttft"][mid] = _ttft(b, modeld, server, mid,
                                         lambda text: count_tokens(mid, text))
        finally:
            if server is not None:
                server.stop()
    return out
