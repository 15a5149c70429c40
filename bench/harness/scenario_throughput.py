"""Decode throughput and time to first token, per model: modeld (SSE and
ndjson) against llama-server (one slot) and llama-bench, same model file,
threads, context and greedy sampling. Decode also records modeld's page
faults per request (/proc/<pid>/stat) and its AnonHugePages after the
model's rounds (/proc/<pid>/smaps_rollup)."""

from harness import contenders as m
from harness.context import DECODE_PROMPTS, TTFT_PROMPT_TOKENS
from harness.procs import ServerError, start_llama_server
from harness.runner import Contender, alternate
from harness.switching import FAULTS, medians, with_faults
from harness.util import log, ratio

FILLER_WORDS = ("the quick brown fox jumps over a lazy dog while seven small birds "
                "sing in the old garden near the river and children play").split()


def calibrate_prompt(count, target, shift=0):
    """A prompt that tokenizes (with BOS) to exactly `target` tokens, found
    with `count(text) -> tokens`; `shift` rotates the filler words to get a
    different prompt of the same length. Returns (text, tokens)."""
    words = FILLER_WORDS[shift:] + FILLER_WORDS[:shift]

    def text_of(n):
        return " ".join(words[i % len(words)] for i in range(n))
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


def _usable(server, prompt, n, rejected):
    """True when llama-server streams `n` tokens for `prompt` (or is absent)."""
    if server is None:
        return True
    try:
        m.llama_completion(server.port, prompt, n)
        return True
    except m.MeasureError as e:
        rejected.append({"prompt": prompt, "error": str(e)[:300]})
        return False


def _decode(b, modeld, server, mid):
    path, n = b.models[mid], b.tokens
    rejected = []
    prompt = next((p for p in DECODE_PROMPTS if _usable(server, p, n, rejected)),
                  DECODE_PROMPTS[0])
    def ours(fmt):
        return lambda: [with_faults(modeld, lambda: m.modeld_infer(modeld.port, mid, prompt,
                                                                   n, fmt))]
    cs = [
        Contender("modeld-sse", "tok/s", "tok_s", ours("sse")),
        Contender("modeld-ndjson", "tok/s", "tok_s", ours("ndjson")),
        Contender("llama-server", "tok/s", "tok_s",
                  lambda: [m.llama_completion(server.port, prompt, n)],
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
    return {"tokens": n, "prompt": prompt, "prompts_rejected_by_llama_server": rejected,
            "contenders": res, "ratios": ratios,
            "modeld_faults": {k: medians(res[k], FAULTS) for k in ("modeld-sse", "modeld-ndjson")},
            "modeld_anon_huge_kb": modeld.anon_huge_kb()}


def _ttft(b, modeld, server, mid, count):
    path = b.models[mid]
    rejected = []
    for shift in range(len(FILLER_WORDS)):
        prompt, n_prompt = calibrate_prompt(count, TTFT_PROMPT_TOKENS, shift)
        if _usable(server, prompt, 2, rejected):
            break
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
    return {"prompt_tokens": n_prompt, "prompt_chars": len(prompt),
            "prompts_rejected_by_llama_server": len(rejected), "contenders": res,
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
