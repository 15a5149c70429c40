"""One measurement of one contender. Each function returns a dict (the
sample's details) or raises MeasureError with the reason."""

import json

from harness import client
from harness.procs import run_tool


class MeasureError(RuntimeError):
    pass


def _rate(r, n_tokens, server_ms=None):
    """Tokens per second as the client saw them: first to last token event.
    The first event carries the first token, so N-1 tokens follow it. When
    every token arrived in one read (a short run on a busy machine) the
    client sees no spread; then the server's own generation time
    (`server_ms`, first token to last) gives the rate, so a sample never
    goes missing because the machine was fast or slow."""
    if n_tokens < 2:
        return None
    if r.t_first is not None and r.t_last is not None and r.t_last > r.t_first:
        return (n_tokens - 1) / (r.t_last - r.t_first)
    if server_ms:
        return (n_tokens - 1) / (server_ms / 1e3)
    return None


def modeld_infer(port, model, prompt, max_tokens, fmt="sse"):
    """POST /infer, streamed as SSE or ndjson, greedy."""
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
            "stream": True}
    headers = {"Accept": "application/x-ndjson"} if fmt == "ndjson" else None
    r = client.stream(port, "/infer", body, client.MARKERS[fmt], headers)
    if r.error:
        raise MeasureError(r.error)
    name, final = client.final_event(r, fmt)
    if name != "done":
        raise MeasureError(f"HTTP {r.status}, final event {name}: {json.dumps(final)[:300]}")
    n = final["usage"]["completion_tokens"]
    return {"tokens": n, "prompt_tokens": final["usage"]["prompt_tokens"],
            "events": r.token_events,
            "tok_s": _rate(r, n, final.get("timings", {}).get("generation_ms")),
            "ttft_ms": r.ttft_ms, "total_ms": (r.t_end - r.t_send) * 1e3,
            "server_timings": final.get("timings", {})}


def llama_completion(port, prompt, n_predict, model=None):
    """POST /completion on llama-server, streamed, greedy, no prompt cache."""
    body = {"prompt": prompt, "n_predict": n_predict, "stream": True, "ignore_eos": True,
            "temperature": 0, "cache_prompt": False}
    if model is not None:
        body["model"] = model
    r = client.stream(port, "/completion", body, client.MARKERS["llama"])
    if r.error:
        raise MeasureError(r.error)
    name, final = client.final_event(r, "llama")
    if name != "done":
        raise MeasureError(f"HTTP {r.status}, final {name}: {json.dumps(final)[:300]}")
    timings = final.get("timings", {})
    n = timings.get("predicted_n", r.token_events)
    return {"tokens": n, "prompt_tokens": timings.get("prompt_n"), "events": r.token_events,
            "tok_s": _rate(r, n, timings.get("predicted_ms")), "ttft_ms": r.ttft_ms,
            "total_ms": (r.t_end - r.t_send) * 1e3, "server_timings": timings}


def openai_chat(port, model, prompt, max_tokens, gate=None):
    """POST /v1/chat/completions streamed, greedy with a fixed seed; the same
    request for modeld and llama-server. `ignore_eos` and `cache_prompt` are
    llama-server's (no early end, no prompt reuse between rounds); modeld
    ignores unknown fields and has neither. Token count from `usage`."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens, "temperature": 0, "seed": 1, "stream": True,
            "stream_options": {"include_usage": True},
            "ignore_eos": True, "cache_prompt": False}
    r = client.stream(port, "/v1/chat/completions", body, client.MARKERS["chat"], gate=gate)
    if r.error:
        raise MeasureError(r.error)
    name, final = client.final_event(r, "chat")
    if name != "done":
        raise MeasureError(f"HTTP {r.status}, final {name}: {json.dumps(final)[:300]}")
    n = final["usage"]["completion_tokens"]
    if r.t_first is None:
        raise MeasureError(f"no content chunk in {n} tokens")
    gaps = [b[0] - a[0] for a, b in zip(r.arrivals, r.arrivals[1:])]
    return {"tokens": n, "prompt_tokens": final["usage"].get("prompt_tokens"),
            "events": r.token_events, "t_send": r.t_send, "t_first": r.t_first,
            "t_last": r.t_last, "t_end": r.t_end, "ttft_ms": r.ttft_ms,
            "itl_ms": None if n < 2 else (r.t_last - r.t_first) / (n - 1) * 1e3,
            "max_gap_ms": max(gaps) * 1e3 if gaps else None}


def chat_turn(port, model, messages, max_tokens):
    """One turn of a conversation: POST /v1/chat/completions streamed with
    the whole history, greedy with a fixed seed, `cache_prompt: true`
    (llama-server's prompt cache, its default, said explicitly; modeld
    ignores the field and always reuses its cache). Returns the details with
    the reply text as streamed (for the next turn's history) and the server's
    `usage.prompt_tokens_details.cached_tokens` (None when not reported)."""
    body = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0,
            "seed": 1, "stream": True, "stream_options": {"include_usage": True},
            "cache_prompt": True}
    r = client.stream(port, "/v1/chat/completions", body, client.MARKERS["chat"])
    if r.error:
        raise MeasureError(r.error)
    name, final = client.final_event(r, "chat")
    if name != "done":
        raise MeasureError(f"HTTP {r.status}, final {name}: {json.dumps(final)[:300]}")
    if r.t_first is None:
        raise MeasureError(f"no content chunk ({final['usage'].get('completion_tokens')} tokens)")
    reply = []
    for _, data in client.sse_events(r.body):
        for choice in data.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if isinstance(text, str):
                reply.append(text)
    usage = final["usage"]
    return {"ttft_ms": r.ttft_ms, "total_ms": (r.t_end - r.t_send) * 1e3,
            "prompt_tokens": usage.get("prompt_tokens"),
            "cached_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
            "completion_tokens": usage.get("completion_tokens"), "events": r.token_events,
            "reply": "".join(reply)}


def llama_bench(binary, model_path, threads, n_prompt, n_gen, timeout=900):
    """One llama-bench run (-r 1, its own warm-up): tokens/s and ms."""
    argv = [binary, "-m", model_path, "-t", str(threads), "-p", str(n_prompt),
            "-n", str(n_gen), "-r", "1", "-o", "json"]
    rc, out, err = run_tool(argv, timeout)
    if rc != 0:
        raise MeasureError(f"llama-bench exited {rc}: {err.decode(errors='replace')[-300:]}")
    try:
        tests = json.loads(out)
    except ValueError as e:
        raise MeasureError(f"llama-bench output is not JSON: {e}") from e
    t = tests[0]
    ts = t["avg_ts"]
    n = n_prompt if n_prompt else n_gen
    return {"tok_s": ts, "ms": n / ts * 1e3, "n_prompt": t.get("n_prompt"),
            "n_gen": t.get("n_gen"), "n_threads": t.get("n_threads"),
            "samples_ns": t.get("samples_ns"), "type_k": t.get("type_k"),
            "flash_attn": t.get("flash_attn"), "n_batch": t.get("n_batch"),
            "n_ubatch": t.get("n_ubatch"), "build_commit": t.get("build_commit")}


def probe_switches(binary, models, threads, ctx, prompt, cycles=1, timeout=300, env=None,
                   drop_cache=False):
    """The in-process floor: one detail per switch (from, to, total_ms, its
    phases and page faults). `env`: the probe's environment (the allocator
    setting); `drop_cache`: evict each target file from the page cache first."""
    argv = [binary, "--threads", str(threads), "--ctx", str(ctx), "--prompt", prompt,
            "--cycles", str(cycles)] + (["--drop-cache"] if drop_cache else [])
    for mid, path in models:
        argv += ["--model", f"{mid}={path}"]
    rc, out, err = run_tool(argv, timeout, env=env)
    if rc != 0:
        raise MeasureError(f"floor probe exited {rc}: {err.decode(errors='replace')[-300:]}")
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def probe_count_tokens(binary, model_path, prompt):
    rc, out, err = run_tool([binary, "--count-tokens", "--model", f"m={model_path}",
                             "--prompt", prompt], 60)
    if rc != 0:
        raise MeasureError(f"token count failed: {err.decode(errors='replace')[-300:]}")
    return json.loads(out)["tokens"]
