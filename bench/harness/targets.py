"""The issue's targets, checked against one run's medians (numbers to report,
not test assertions)."""

from harness.context import TTFT_PROMPT_TOKENS

RSS_GROWTH_LIMIT_KB = 5 * 1024
CONCURRENCY_TOK_S_MIN = 1.0     # modeld / llama-server aggregate tok/s, every level
CONCURRENCY_TTFT_P50_MAX = 1.1  # modeld / llama-server TTFT p50, every level


def _row(scenario, subject, metric, target, value, met):
    return {"scenario": scenario, "subject": subject, "metric": metric, "target": target,
            "value": value, "met": None if value is None else bool(met)}


def evaluate(results):
    rows = []
    decode = results.get("decode") or {}
    for mid, d in decode.items():
        r = d["ratios"]
        tg = next(k for k in r if k.startswith("modeld-sse/llama-bench"))
        if mid == "tiny":
            v = r["modeld-sse/llama-server"]
            rows.append(_row("decode", mid, "modeld SSE / llama-server tok/s", ">= 1.5", v,
                             v is not None and v >= 1.5))
        else:
            v = r["modeld-sse/llama-server"]
            rows.append(_row("decode", mid, "modeld SSE / llama-server tok/s", ">= 0.99", v,
                             v is not None and v >= 0.99))
            v = r[tg]
            rows.append(_row("decode", mid, "modeld SSE / llama-bench tg tok/s", ">= 0.97", v,
                             v is not None and v >= 0.97))
    for mid, t in (results.get("ttft") or {}).items():
        v = t["deltas_ms"][f"modeld-llama-bench-pp{TTFT_PROMPT_TOKENS}"]
        rows.append(_row("ttft", mid, f"modeld TTFT - llama-bench pp{TTFT_PROMPT_TOKENS} (ms)",
                         "<= 2", v, v is not None and v <= 2.0))
    switch = results.get("switch") or {}
    for direction, s in switch.items():
        if not isinstance(s, dict) or "ratios" not in s:
            continue
        ends = set(direction.split("->"))
        if ends <= {"tiny", "small"}:
            v = s["ratios"]["llama-server-router/modeld"]
            rows.append(_row("switch", direction, "router time / modeld time", ">= 3", v,
                             v is not None and v >= 3))
        v = s["ratios"]["modeld/floor"]
        rows.append(_row("switch", direction, "modeld time / in-process floor", "<= 1.1", v,
                         v is not None and v <= 1.1))
    mem = results.get("memory") or {}
    if "growth_kb" in mem:
        v = mem["growth_kb"]
        rows.append(_row("memory", "<->".join(mem["pair"]),
                         f"VmRSS growth, switch {mem['growth_from']} to {mem['growth_to']} (kB)",
                         f"<= {RSS_GROWTH_LIMIT_KB}", v, v is not None and v <= RSS_GROWTH_LIMIT_KB))
    for mid, c in (results.get("concurrency") or {}).items():
        for n, level in c["levels"].items():
            r = level["ratios"]["modeld/llama-server"]
            subject = f"{mid}, {n} client{'s' if n != '1' else ''}"
            v = r["tok_s"]
            rows.append(_row("concurrency", subject, "modeld / llama-server aggregate tok/s",
                             f">= {CONCURRENCY_TOK_S_MIN}", v,
                             v is not None and v >= CONCURRENCY_TOK_S_MIN))
            v = r["ttft_p50_ms"]
            rows.append(_row("concurrency", subject, "modeld / llama-server TTFT p50",
                             f"<= {CONCURRENCY_TTFT_P50_MAX}", v,
                             v is not None and v <= CONCURRENCY_TTFT_P50_MAX))
    alloc = ((results.get("pertoken") or {}).get("allocations") or {})
    if alloc.get("status") == "ok":
        v = alloc["max_allocs_per_token"]
        rows.append(_row("pertoken", "SSE/ndjson serving path", "heap allocations per token",
                         "0", v, v == 0))
    return rows
