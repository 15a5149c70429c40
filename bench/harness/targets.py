"""The issue's targets, checked against one run's medians (numbers to report,
not test assertions)."""

from harness.context import TTFT_PROMPT_TOKENS

RSS_GROWTH_LIMIT_KB = 5 * 1024
CONCURRENCY_TOK_S_MIN = 1.0     # modeld / llama-server aggregate tok/s, every level
EMBEDDINGS_INPUTS_S_MIN = 0.95  # modeld / llama-server embeddings inputs/s (issue 15)
CONCURRENCY_TTFT_P50_MAX = 1.1  # modeld / llama-server TTFT p50, every level
CHAT_SERVER_MAX = 1.1    # modeld / llama-server (1 slot) TTFT of the last turn
CHAT_SWITCH_SLACK = 1.2  # with switches: last-turn TTFT <= switch + this x no-switch TTFT
CHAT_ROUTER_MIN = 3      # router / modeld last-turn TTFT, both with switches
DECODE_BENCH_MIN = 0.99  # modeld SSE / llama-bench tg tok/s, every preset
JSON_SCHEMA_SERVER_MIN = 0.95  # modeld / llama-server decode tok/s with a JSON schema (issue 15)
SWITCH_ROUTER_MIN = 1.5  # router / modeld switch time, every pair, both directions
SWITCH_ROUTER_MIN_TINY_SMALL = 3  # the same for tiny<->small (issue 4)
SWITCH_FLOOR_MAX = 1.05  # modeld / in-process floor switch time
# Standby switch-back: router / modeld (weights kept loaded), by pair.
STANDBY_ROUTER_MIN = {frozenset({"tiny", "small"}): 5, frozenset({"small", "1b"}): 3}


def _row(scenario, subject, metric, target, value, met):
    return {"scenario": scenario, "subject": subject, "metric": metric, "target": target,
            "value": value, "met": None if value is None else bool(met)}


def evaluate(results):
    rows = []
    decode = results.get("decode") or {}
    for mid, d in decode.items():
        r = d["ratios"]
        tg = next(k for k in r if k.startswith("modeld-sse/llama-bench"))
        least = 1.5 if mid == "tiny" else 0.99
        v = r["modeld-sse/llama-server"]
        rows.append(_row("decode", mid, "modeld SSE / llama-server tok/s", f">= {least}", v,
                         v is not None and v >= least))
        v = r[tg]
        rows.append(_row("decode", mid, "modeld SSE / llama-bench tg tok/s",
                         f">= {DECODE_BENCH_MIN}", v, v is not None and v >= DECODE_BENCH_MIN))
    for mid, t in (results.get("ttft") or {}).items():
        v = t["deltas_ms"][f"modeld-llama-bench-pp{TTFT_PROMPT_TOKENS}"]
        rows.append(_row("ttft", mid, f"modeld TTFT - llama-bench pp{TTFT_PROMPT_TOKENS} (ms)",
                         "<= 2", v, v is not None and v <= 2.0))
    for mid, j in (results.get("json_schema") or {}).items():
        v = j["ratios"]["modeld-schema/llama-server-schema"]
        rows.append(_row("json_schema", mid, "modeld / llama-server decode tok/s with a schema",
                         f">= {JSON_SCHEMA_SERVER_MIN}", v,
                         v is not None and v >= JSON_SCHEMA_SERVER_MIN))
    rows += _switch(results.get("switch") or {})
    rows += _standby(results.get("standby") or {})
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
    rows += _chat(results.get("chat") or {})
    for mid, e in (results.get("embeddings") or {}).items():
        v = e["ratios"]["modeld/llama-server"]["inputs_s"]
        rows.append(_row("embeddings", mid, "modeld / llama-server embeddings inputs/s",
                         f">= {EMBEDDINGS_INPUTS_S_MIN}", v,
                         v is not None and v >= EMBEDDINGS_INPUTS_S_MIN))
    alloc = ((results.get("pertoken") or {}).get("allocations") or {})
    if alloc.get("status") == "ok":
        v = alloc["max_allocs_per_token"]
        rows.append(_row("pertoken", "SSE/ndjson serving path", "heap allocations per token",
                         "0", v, v == 0))
    return rows


def _switch(switch):
    rows = []
    for direction, s in switch.items():
        if not isinstance(s, dict) or "ratios" not in s:
            continue
        v = s["ratios"]["llama-server-router/modeld"]
        least = [SWITCH_ROUTER_MIN]
        if set(direction.split("->")) == {"tiny", "small"}:
            least.append(SWITCH_ROUTER_MIN_TINY_SMALL)
        rows += [_row("switch", direction, "router time / modeld time", f">= {x}", v,
                      v is not None and v >= x) for x in least]
        v = s["ratios"]["modeld/floor"]
        rows.append(_row("switch", direction, "modeld time / in-process floor",
                         f"<= {SWITCH_FLOOR_MAX}", v, v is not None and v <= SWITCH_FLOOR_MAX))
    return rows


def _standby(standby):
    """Switch-back with the weights kept loaded, for the pairs with a target."""
    rows = []
    for direction, s in (standby.get("directions") or {}).items():
        least = STANDBY_ROUTER_MIN.get(frozenset(direction.split("->")))
        if least is None:
            continue
        v = s["ratios"]["llama-server-router/modeld-standby"]
        rows.append(_row("standby", direction, "router time / modeld switch-back from standby",
                         f">= {least}", v, v is not None and v >= least))
    return rows


def _chat(chat):
    """The last turn's TTFT (turn 8 in the full profile), medians over the
    rounds. The switch time is the one modeld spent switching back to the
    conversation's model inside that turn's request (scenario_chat.py)."""
    rows = []
    for mid, c in chat.items():
        last = str(c["turns_n"])
        block = c["turns"][last]
        med = {k: e["median"] for k, e in block["contenders"].items()}
        v = block["ratios"]["modeld/llama-server"]
        rows.append(_row("chat", f"{mid}, turn {last}",
                         "modeld / llama-server (1 slot) TTFT", f"<= {CHAT_SERVER_MAX}", v,
                         v is not None and v <= CHAT_SERVER_MAX))
        sw = c["switch"]["modeld_switch_back_ms"][last]["median"]
        plain, switching = med["modeld"], med["modeld-switch"]
        limit = None if sw is None or plain is None else sw + CHAT_SWITCH_SLACK * plain
        v = None if limit is None else switching
        target = "<= switch back + 1.2 × no-switch TTFT" if limit is None else \
            f"<= {limit:.0f} (switch back {sw:.0f} + {CHAT_SWITCH_SLACK} × {plain:.0f})"
        rows.append(_row("chat", f"{mid}, turn {last}, switches between turns",
                         "modeld TTFT with switches (ms)", target, v,
                         v is not None and v <= limit))
        v = block["ratios"]["llama-server-router/modeld-switch"]
        rows.append(_row("chat", f"{mid}, turn {last}, switches between turns",
                         "router TTFT / modeld TTFT", f">= {CHAT_ROUTER_MIN}", v,
                         v is not None and v >= CHAT_ROUTER_MIN))
    return rows
