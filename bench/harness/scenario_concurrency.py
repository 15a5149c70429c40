"""Concurrency (issue 9): 1, 2, 4 and 8 clients at once on one model, each
streaming the same number of tokens for its own prompt over the OpenAI chat
API (the same client code for both): modeld with `parallel` = the most
clients of the run against llama-server with as many slots (-np, -kvu), same
model file, threads and context, greedy with a fixed seed.

One round is one burst: every client connects, a barrier releases them
together, each reads its stream to the end. Per round:

  aggregate tok/s  total completion tokens (each stream's `usage`) / (last
                   stream done - first request sent)
  TTFT             request sent -> first chunk with text, per stream
  ITL              (last text chunk - first text chunk) / (tokens - 1), per
                   stream: its mean time between tokens as the client sees
                   them. Tokens come from `usage`, not from counting chunks,
                   because modeld puts the tokens of one 2 ms window into one
                   SSE event while llama-server sends one per token.
  p50 and p99      of TTFT and of ITL over the round's streams (linear
                   between ranks; with 8 streams p99 is nearly the slowest).

Each of those is then summarized over the rounds: median (min-max)."""

import os
import threading

from harness import contenders as m
from harness.context import DECODE_PROMPTS
from harness.procs import ServerError, start_llama_server, start_modeld, write_modeld_config
from harness.runner import Contender, alternate
from harness.util import log, percentile, ratio, summarize

WARMUP_TOKENS = 4
LATENCY = ("ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms")
BARRIER_TIMEOUT_S = 60


def candidate_prompts():
    """Distinct prompts, one per client: the decode prompts, then numbered
    variants of them (more than any run needs, since llama-server cannot
    stream some texts, see DECODE_PROMPTS)."""
    out = list(DECODE_PROMPTS)
    for k in range(2, 5):
        out += [f"{p} (part {k})" for p in DECODE_PROMPTS]
    return out


def together(port, model, prompts, tokens):
    """Streams every prompt at once, one client each. Returns per client the
    openai_chat details, or the reason it failed (a string)."""
    gate = threading.Barrier(len(prompts), timeout=BARRIER_TIMEOUT_S)
    results = [None] * len(prompts)

    def client(i):
        try:
            results[i] = m.openai_chat(port, model, prompts[i], tokens, gate.wait)
        except Exception as e:  # noqa: BLE001 - reported per client, never lost
            gate.abort()  # a client that never reached the barrier frees the others
            results[i] = f"{type(e).__name__}: {e}" if not isinstance(e, m.MeasureError) \
                else str(e)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def burst(port, model, prompts, tokens):
    """One round: len(prompts) clients at once. Returns the round's details;
    raises MeasureError when a stream failed or ended short."""
    results = together(port, model, prompts, tokens)
    problems = [f"client {i}: {r}" for i, r in enumerate(results) if isinstance(r, str)]
    problems += [f"client {i}: {r['tokens']} of {tokens} tokens"
                 for i, r in enumerate(results) if isinstance(r, dict) and r["tokens"] != tokens]
    if problems:
        raise m.MeasureError("; ".join(problems)[:500])
    t0 = min(r["t_send"] for r in results)
    wall = max(r["t_end"] for r in results) - t0
    total = sum(r["tokens"] for r in results)
    ttft = [r["ttft_ms"] for r in results]
    itl = [r["itl_ms"] for r in results if r["itl_ms"] is not None]
    streams = [{"tokens": r["tokens"], "prompt_tokens": r["prompt_tokens"],
                "events": r["events"], "ttft_ms": r["ttft_ms"], "itl_ms": r["itl_ms"],
                "max_gap_ms": r["max_gap_ms"], "sent_ms": (r["t_send"] - t0) * 1e3,
                "done_ms": (r["t_end"] - t0) * 1e3} for r in results]
    return {"clients": len(prompts), "tokens": total, "wall_s": wall, "tok_s": total / wall,
            "ttft_p50_ms": percentile(ttft, 50), "ttft_p99_ms": percentile(ttft, 99),
            "itl_p50_ms": percentile(itl, 50), "itl_p99_ms": percentile(itl, 99),
            "streams": streams}


def screen_prompts(server, model, need, tokens):
    """The first `need` candidates llama-server streams in full, tried `need`
    at a time (all candidates when it is absent). Returns (prompts, rejected)."""
    cands = candidate_prompts()
    if server is None:
        return cands[:need], []
    ok, rejected = [], []
    for i in range(0, len(cands), need):
        if len(ok) >= need:
            break
        batch = cands[i:i + need]
        for p, r in zip(batch, together(server.port, model, batch, tokens)):
            if isinstance(r, dict) and r["tokens"] == tokens:
                ok.append(p)
            else:
                rejected.append({"prompt": p, "error": str(r if isinstance(r, str) else
                                                           f"{r['tokens']} tokens")[:300]})
    if len(ok) < need:
        log(f"concurrency: llama-server streamed only {len(ok)} of {len(cands)} prompts")
        ok += [p for p in cands if p not in ok][:need - len(ok)]
    return ok[:need], rejected


def add_latency(entry):
    """TTFT and ITL percentiles of a contender entry, each summarized over
    its rounds (median, min, max)."""
    details = entry["details"] if entry["status"] == "ok" else []
    entry["latency"] = {k: summarize([d[k] for d in details if d.get(k) is not None])
                        for k in LATENCY}
    return entry


def ratios(res):
    """modeld / llama-server of the medians: aggregate tok/s and latencies."""
    a, b = res["modeld"], res["llama-server"]
    out = {"tok_s": ratio(a["median"], b["median"])}
    for k in LATENCY:
        out[k] = ratio(a["latency"][k]["median"], b["latency"][k]["median"])
    return {"modeld/llama-server": out}


def _model(b, modeld, server, server_missing, mid, prompts_need):
    tokens = b.concurrency_tokens
    prompts, rejected = screen_prompts(server, mid, prompts_need, tokens)
    levels = {}
    for n in b.clients:
        log(f"concurrency: {mid}, {n} client(s)")
        ps = prompts[:n]
        cs = [
            Contender("modeld", "tok/s", "tok_s",
                      lambda: [burst(modeld.port, mid, ps, tokens)],
                      warmup=lambda: burst(modeld.port, mid, ps, WARMUP_TOKENS)),
            Contender("llama-server", "tok/s", "tok_s",
                      lambda: [burst(server.port, mid, ps, tokens)],
                      warmup=lambda: burst(server.port, mid, ps, WARMUP_TOKENS),
                      missing=server_missing),
        ]
        res = alternate(cs, b.concurrency_reps, b.pause_s)[None]
        for e in res.values():
            add_latency(e)
        levels[str(n)] = {"clients": n, "contenders": res, "ratios": ratios(res)}
    return {"tokens": tokens, "clients": list(b.clients), "prompts": prompts,
            "prompts_rejected_by_llama_server": rejected, "levels": levels}


def run(b):
    """Returns {model: result}; one modeld for all models, one llama-server
    per model, both with as many sequences as the most clients."""
    slots = max(b.clients)
    models = b.concurrency_models()
    config = os.path.join(b.workdir, "concurrency.yaml")
    write_modeld_config(config, {mid: b.models[mid] for mid in models}, b.threads, b.ctx,
                        parallel=slots)
    modeld = start_modeld(b.tools["modeld"], config, b.threads, b.workdir, "modeld-concurrency")
    out = {}
    try:
        for mid in models:
            server, missing = None, b.missing.get("llama-server")
            if b.tool("llama-server"):
                try:
                    server = start_llama_server(b.tool("llama-server"), b.models[mid],
                                                b.threads, b.ctx, b.workdir,
                                                f"llama-server-np{slots}-{mid}", slots=slots)
                except ServerError as e:
                    log(str(e))
                    missing = f"failed to start with -np {slots} -kvu: {str(e)[:300]}"
                    b.missing.setdefault(f"llama-server-np{slots}", missing)
            try:
                out[mid] = {"parallel": slots, **_model(b, modeld, server, missing, mid, slots)}
            finally:
                if server is not None:
                    server.stop()
    finally:
        modeld.stop()
    return out
