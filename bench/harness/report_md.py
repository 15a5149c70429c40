"""bench/results/latest.md: the summary table the README shows."""

import statistics

from harness.context import TTFT_PROMPT_TOKENS


def num(v, unit=""):
    if v is None:
        return "–"
    a = abs(v)
    s = f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}"
    return s + unit


def cell(e):
    """'median (min–max)' of a contender entry, or why there is none."""
    if e is None:
        return "–"
    if e["status"] == "missing":
        return "n/a¹"
    if e["status"] == "failed":
        return "failed²"
    return f"**{num(e['median'])}** ({num(e['min'])}–{num(e['max'])})"


def ratio_cell(v):
    return "–" if v is None else f"{v:.2f}×"


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _faults(f):
    """'minor / major' page faults (medians), or – when not measured."""
    f = f or {}
    if f.get("minflt") is None:
        return "–"
    return f"{f['minflt']:.0f} / {f['majflt']:.0f}"


def _mb(kb):
    return "–" if kb is None else num(kb / 1024)


def _decode(res):
    rows = []
    for mid, d in res.items():
        c = d["contenders"]
        tg = next(k for k in c if k.startswith("llama-bench"))
        r = d["ratios"]
        rows.append([mid, cell(c["modeld-sse"]), cell(c["modeld-ndjson"]),
                     cell(c["llama-server"]), cell(c[tg]),
                     ratio_cell(r["modeld-sse/llama-server"]),
                     ratio_cell(r[f"modeld-sse/{tg}"]),
                     _faults((d.get("modeld_faults") or {}).get("modeld-sse")),
                     _mb(d.get("modeld_anon_huge_kb"))])
    n = next(iter(res.values()))["tokens"]
    return [f"### Decode throughput ({n} tokens streamed, tok/s, higher is better)", "",
            "modeld page faults: minor / major during one SSE request (/proc/<pid>/stat, "
            "median); AnonHugePages: modeld's, after the model's rounds (smaps_rollup).", ""] + \
        _table(["model", "modeld /infer SSE", "modeld /infer ndjson", "llama-server (1 slot)",
                f"llama-bench tg{n}", "SSE / server", "SSE / bench", "modeld page faults",
                "modeld AnonHugePages (MB)"], rows)


def _ttft(res):
    pp = f"llama-bench-pp{TTFT_PROMPT_TOKENS}"
    rows = []
    for mid, t in res.items():
        c = t["contenders"]
        rows.append([mid, t["prompt_tokens"], cell(c["modeld"]), cell(c["llama-server"]),
                     cell(c[pp]), num(t["deltas_ms"][f"modeld-{pp}"], " ms")])
    return [f"### Time to first token ({TTFT_PROMPT_TOKENS}-token prompt, ms, lower is better)",
            ""] + _table(["model", "prompt tokens", "modeld", "llama-server",
                          f"llama-bench pp{TTFT_PROMPT_TOKENS}", "modeld − pp"], rows)


ROUTER = "llama-server-router"
ROUTER_THP = "llama-server-router-thp"


def _arrow(direction):
    return direction.replace("->", " → ")


def _allocator_note(alloc):
    same = alloc.get("floor")
    return (f"Allocator: modeld re-execs itself with `GLIBC_TUNABLES={same}` and the floor "
            "probe runs under the same setting; *router* is llama-server's router as users "
            "run it (default environment), *router, hugetlb* the same with "
            f"`GLIBC_TUNABLES={alloc.get(ROUTER_THP)}` (inherited by its model instances)."
            if same else "Allocator: modeld's huge-page malloc is off in this run "
            "(MODELD_HUGEPAGES or GLIBC_TUNABLES), and so it is for the floor probe.")


def _phases(res):
    """modeld's switch phases (its switch log lines) beside the floor probe's,
    and page faults per switch; medians, ms."""
    rows = []
    for direction, s in res.items():
        for name, p in s["phases"].items():
            if name == "floor":
                vals = [p["free_ms"], p["load_ms"], p["ctx_ms"], None, p["first_token_ms"]]
            else:
                vals = [p["free_ms"], p["model_ms"], p["context_ms"], p["warmup_ms"],
                        p.get("rest_ms")]
            rows.append([_arrow(direction), name] + [num(v) for v in vals] +
                        [num(s["contenders"][name]["median"]), _faults(s["faults"].get(name))])
    return _table(["switch", "who", "free", "model load", "context", "warm-up (1 token)",
                   "prompt → first token", "request → first token",
                   "page faults minor / major"], rows)


def _switch(res, alloc):
    if "skipped" in res:
        return ["### Switch latency", "", f"Skipped: {res['skipped']}"]
    rows = []
    for direction, s in res.items():
        c, r = s["contenders"], s["ratios"]
        rows.append([_arrow(direction), cell(c["modeld"]), cell(c[ROUTER]),
                     cell(c.get(ROUTER_THP)), cell(c["floor"]),
                     ratio_cell(r[f"{ROUTER}/modeld"]),
                     ratio_cell(r.get(f"{ROUTER_THP}/modeld")),
                     ratio_cell(r["modeld/floor"])])
    return ["### Switch latency (request for B while A is loaded → B's first token, ms, "
            "warm page cache)", "", _allocator_note(alloc), ""] + \
        _table(["switch", "modeld", "llama-server router", "router, hugetlb",
                "in-process floor", "router / modeld", "router hugetlb / modeld",
                "modeld / floor"], rows) + \
        ["", "Where the time goes (medians, ms): modeld's phases from its switch log lines "
             "(*prompt → first token*: the rest of the request, HTTP and queueing included), "
             "the floor probe's from its own timers; page faults per switch from "
             "/proc/<pid>/stat for modeld, getrusage for the probe.", ""] + _phases(res)


def _standby(res):
    if "skipped" in res:
        return ["### Standby switch-back", "", f"Skipped: {res['skipped']}"]
    rows = []
    for direction, s in res["directions"].items():
        c, r, h = s["contenders"], s["ratios"], s["standby_hits"]
        p = s["phases"]["modeld-standby"]
        rows.append([_arrow(direction), cell(c["modeld-standby"]), cell(c[ROUTER]),
                     cell(c[ROUTER_THP]), ratio_cell(r[f"{ROUTER}/modeld-standby"]),
                     ratio_cell(r[f"{ROUTER_THP}/modeld-standby"]),
                     f"{h['from_standby']}/{h['n']}", num(p["context_ms"]),
                     num(p["warmup_ms"]), _faults(s["faults"]["modeld-standby"])])
    met = res.get("metrics") or {}
    held = met.get("modeld_standby_bytes")
    return [f"### Standby: switch back with the weights kept loaded (modeld "
            f"`standby_bytes: {res['standby_bytes']}`, every model visited first; ms)", ""] + \
        _table(["switch back", "modeld (standby)", "router", "router, hugetlb",
                "router / modeld", "router hugetlb / modeld", "from standby", "modeld context",
                "modeld warm-up", "page faults minor / major"], rows) + \
        ["", "At the end: modeld_standby_hits_total "
             f"{num(met.get('modeld_standby_hits_total'))}, "
             f"modeld_standby_bytes {_mb(None if held is None else held / 1024)} MB, "
             f"modeld VmRSS {_mb(res['rss_kb'].get('VmRSS'))} MB."]


def _left(v):
    return "–" if v is None else f"{v:.0f}%"


def _coldcache(res, alloc):
    if "skipped" in res:
        return ["### Cold page cache", "", f"Skipped: {res['skipped']}"]
    rows = []
    for direction, s in res["directions"].items():
        c, r, left = s["contenders"], s["ratios"], s["cache_left_pct"]
        rows.append([_arrow(direction), cell(c["modeld"]), cell(c[ROUTER]), cell(c[ROUTER_THP]),
                     cell(c["floor"]), ratio_cell(r[f"{ROUTER}/modeld"]),
                     ratio_cell(r[f"{ROUTER_THP}/modeld"]), ratio_cell(r["modeld/floor"]),
                     " / ".join(_left(left.get(k)) for k in ("modeld", ROUTER, "floor"))])
    return ["### Cold page cache: switch with B's file evicted first (ms)", "",
            f"Method: {res['method']}. *Left cached*: the share of B's file still in the page "
            "cache after the eviction (mincore; pages some process maps stay), modeld / "
            "router / floor. " + _allocator_note(alloc), ""] + \
        _table(["switch", "modeld", "router", "router, hugetlb", "in-process floor",
                "router / modeld", "router hugetlb / modeld", "modeld / floor",
                "left cached"], rows) + ["", "Where the time goes (medians, ms):", ""] + \
        _phases(res["directions"])


def _repack(res):
    if "skipped" in res:
        return ["### Weight repacking (Q4_0)", "", f"Skipped: {res['skipped']}"]
    lines = []
    for mid, block in res["models"].items():
        rows = []
        for name, sm in block["summary"].items():
            rows.append([mid, "on" if name == "modeld-repack" else "off", num(sm["model_ms"]),
                         num(sm["load_ms"]), num(sm["ttft_ms"]), num(sm["tok_s"]),
                         _mb(sm["RssAnon"]), _mb(sm["RssFile"]),
                         _faults(sm)])
        r = block["ratios"]
        lines += _table(["model", "repack", "model load (ms)", "model + context (ms)",
                         "switch → first token (ms)", "decode tok/s", "RssAnon (MB)",
                         "RssFile (MB)", "page faults minor / major"], rows)
        lines += ["", f"{mid}, off / on: model load "
                      f"{ratio_cell(r['no-repack/repack model_ms'])}, "
                      f"switch → first token {ratio_cell(r['no-repack/repack ttft_ms'])}, "
                      f"decode {ratio_cell(r['no-repack/repack tok_s'])}, RssAnon "
                      f"{ratio_cell(r['no-repack/repack RssAnon'])}.", ""]
    first = next(iter(res["models"].values()))
    return ["### Weight repacking on Q4_0 (modeld `repack:`; medians)", "",
            f"One modeld with the file twice (repack on and off), alternating requests that "
            f"switch (warm page cache) and decode {first['tokens']} tokens greedily.", ""] + \
        lines[:-1]


def _memory(res):
    if "skipped" in res:
        return ["### Memory over switches", "", f"Skipped: {res['skipped']}"]
    rows = [[n, num(s["VmRSS"] / 1024), num(s["RssAnon"] / 1024), num(s["RssFile"] / 1024),
             s["loaded"]] for n, s in res["checkpoints"].items()]
    g = res["growth_kb"]
    lines = [f"### Memory: modeld RSS over {res['switches']} switches "
             f"{' ↔ '.join(res['pair'])} (MB)", ""]
    lines += _table(["after switch", "VmRSS", "RssAnon", "RssFile", "loaded"], rows)
    if g is not None:
        lines += ["", f"Growth from switch {res['growth_from']} to {res['growth_to']}: "
                      f"**{g / 1024:.2f} MB** VmRSS, {res['anon_growth_kb'] / 1024:.2f} MB anonymous."]
    trim = (res.get("experiments") or {}).get("malloc_trim")
    if isinstance(trim, dict):
        lines += ["", f"Experiment: `malloc_trim(0)` called in the live modeld (gdb) freed "
                      f"{trim['freed_kb'] / 1024:.2f} MB (VmRSS {trim['before']['VmRSS'] / 1024:.1f}"
                      f" → {trim['after']['VmRSS'] / 1024:.1f} MB)."]
    elif trim:
        lines += ["", f"Experiment: {trim}"]
    return lines


def _pertoken(res):
    lines = ["### Per-token cost of modeld's serving path (counts, not time)", ""]
    a = res.get("allocations", {})
    if a.get("status") == "ok":
        rows = [[name, num(r["allocs_per_token"]), num(r["allocs_per_event"]),
                 num(r["wire_bytes_per_event"]), num(r["cpu_time"], " " + r["time_unit"])]
                for name, r in a["benchmarks"].items()]
        lines += _table(["benchmark (tokens per event)", "heap allocs / token",
                         "heap allocs / event", "wire bytes / event", "CPU time / event"], rows)
    else:
        lines += [f"Allocation counts: {a.get('status')} ({a.get('reason')})"]
    ins = res.get("instructions", {})
    parts = []
    for k, v in ins.items() if isinstance(ins, dict) else []:
        if isinstance(v, dict) and v.get("status") == "ok":
            parts.append(f"{num(v['instructions_per_event'])} per event with "
                         f"{v['tokens'] // max(1, v['events'])} token(s) per event "
                         f"({num(v['instructions_per_token'])} per token)")
    if parts:
        lines += ["", "User-space instructions (callgrind) from the worker's hand-over to "
                      "the framed chunk in the write buffer: " + "; ".join(parts) + "."]
    e = res.get("end_to_end", {})
    if e.get("status") == "ok":
        us = ", ".join(f"{k} {num(v)} µs" for k, v in e["us_per_token"].items())
        over = ", ".join(f"{k} {num(v)} µs" for k, v in e["overhead_us_per_token"].items())
        lines += ["", f"End to end on tiny, time per token: {us}. Difference: {over}."]
    return lines


def _pair(level, key):
    """'modeld / llama-server' medians of one latency percentile."""
    c = level["contenders"]
    return " / ".join(num(c[k].get("latency", {}).get(key, {}).get("median"))
                      if c[k]["status"] == "ok" else cell(c[k]) for k in ("modeld", "llama-server"))


def _concurrency(res):
    rows = []
    for mid, block in res.items():
        for n, level in block["levels"].items():
            c, r = level["contenders"], level["ratios"]["modeld/llama-server"]
            rows.append([mid, n, cell(c["modeld"]), cell(c["llama-server"]),
                         ratio_cell(r["tok_s"]), _pair(level, "ttft_p50_ms"),
                         ratio_cell(r["ttft_p50_ms"]), _pair(level, "ttft_p99_ms"),
                         _pair(level, "itl_p50_ms"), _pair(level, "itl_p99_ms")])
    first = next(iter(res.values()))
    return [f"### Concurrency: N clients at once, {first['tokens']} tokens each "
            f"(OpenAI chat streaming; modeld `parallel: {first['parallel']}`, llama-server "
            f"`-np {first['parallel']} -kvu`)", "",
            "Aggregate tok/s = all completion tokens / (first request sent → last stream done), "
            "higher is better. TTFT = request → first chunk with text; ITL = per stream "
            "(last − first text chunk) / (tokens − 1); p50/p99 over the streams of a round, "
            "median over the rounds; ms, lower is better.", ""] + \
        _table(["model", "clients", "modeld tok/s", "llama-server tok/s", "tok/s modeld / server",
                "TTFT p50 modeld / server", "TTFT p50 ratio", "TTFT p99 modeld / server",
                "ITL p50 modeld / server", "ITL p99 modeld / server"], rows)


def _embeddings(res):
    rows = []
    for mid, e in res.items():
        c = e["contenders"]
        rows.append([mid, cell(c["modeld"]), cell(c["llama-server"]),
                     ratio_cell(e["ratios"]["modeld/llama-server"]["inputs_s"])])
    first = next(iter(res.values()))
    return [f"### Embeddings: {first['inputs']} short inputs in requests of {first['batch']} "
            f"(POST /v1/embeddings; modeld `parallel: {first['parallel']}`, llama-server "
            f"`--embeddings --pooling {first['pooling']} -np {first['parallel']} -kvu`)", "",
            "inputs/s = inputs / (first request sent → last response read), higher is "
            "better.", ""] + \
        _table(["model", "modeld inputs/s", "llama-server inputs/s", "modeld / server"], rows)


def _median_int(vals):
    vals = [v for v in vals or [] if v is not None]
    return "–" if not vals else f"{statistics.median(vals):.0f}"


def _chat(res):
    first = next(iter(res.values()))
    lines = [f"### Chat: one conversation, {first['turns_n']} turns (OpenAI chat streaming, "
             f"{first['user_words']}-word user messages, {first['reply_tokens']}-token "
             "replies; TTFT per turn, ms, lower is better)", "",
             f"Median (min–max) over {first['rounds']} round(s), a new conversation each. "
             "Each turn sends the whole history. modeld keeps the prompt cache; llama-server "
             "`-np 1` with `cache_prompt`. *Switches*: a 1-token request for another model "
             "between turns, to modeld and to llama-server's router (`--models-max 1`). "
             "*cached* = the server's `usage.prompt_tokens_details.cached_tokens` (median).",
             ""]
    for mid, c in res.items():
        rows = []
        for k, tb in c["turns"].items():
            e, r = tb["contenders"], tb["ratios"]
            ct, pt = c["cached_tokens"], c["prompt_tokens"]
            rows.append([k, _median_int(pt.get("modeld", {}).get(k)),
                         cell(e["modeld"]), _median_int(ct.get("modeld", {}).get(k)),
                         cell(e["llama-server"]), _median_int(ct.get("llama-server", {}).get(k)),
                         cell(e["modeld-switch"]),
                         _median_int(ct.get("modeld-switch", {}).get(k)),
                         cell(e["llama-server-router"]),
                         ratio_cell(r["modeld/llama-server"]),
                         ratio_cell(r["llama-server-router/modeld-switch"])])
        lines += [f"**{mid}** (switches to {c['other_model'] or '–'}):", ""]
        lines += _table(["turn", "prompt tokens", "modeld", "cached", "llama-server (1 slot)",
                         "cached", "modeld, switches", "cached", "router, switches",
                         "modeld / server", "router / modeld (switches)"], rows)
        sw, last = c["switch"], str(c["turns_n"])
        back = sw["modeld_switch_back_ms"].get(last, {}).get("median")
        lines += ["", f"Between turns, 1-token request for {c['other_model'] or '–'}: TTFT "
                      f"modeld {num(sw['modeld_between_ttft_ms']['median'], ' ms')} (its switch "
                      f"away {num(sw['modeld_between_switch_ms']['median'], ' ms')}), router "
                      f"{num(sw['router_between_ttft_ms']['median'], ' ms')}. modeld's switch "
                      f"back inside turn {last}: {num(back, ' ms')}.", ""]
    return lines[:-1]


def _json_schema(res):
    lines = ["### Decode with a JSON schema (tok/s, higher is better)", "",
             "modeld `/infer` with `json_schema` vs llama-server `/completion` with "
             "`json_schema` (both: llama.cpp's json_schema_to_grammar and grammar sampler), "
             "beside free-text decode. The schema is an array of small integers of fixed "
             "length; greedy.", ""]
    rows = []
    for mid, c in res.items():
        e, r = c["contenders"], c["ratios"]
        rows.append([mid, cell(e["modeld-schema"]), cell(e["llama-server-schema"]),
                     ratio_cell(r["modeld-schema/llama-server-schema"]),
                     cell(e["modeld-free"]), cell(e["llama-server-free"]),
                     ratio_cell(r["modeld-free/llama-server-free"]),
                     ratio_cell(r["modeld-schema/modeld-free"])])
    return lines + _table(["model", "modeld, schema", "llama-server, schema", "modeld / server",
                           "modeld, free", "llama-server, free", "modeld / server",
                           "modeld schema / free"], rows)


def _targets(rows):
    body = [[r["scenario"], r["subject"], r["metric"], r["target"],
             "–" if r["value"] is None else num(r["value"]),
             "–" if r["met"] is None else ("yes" if r["met"] else "**no**")] for r in rows]
    return ["### Targets (issues 4, 9 and 10; memory and switching)", ""] + _table(
        ["scenario", "subject", "metric", "target", "measured", "met"], body)


def render(doc, json_name, chart_path):
    m, cfg = doc["machine"], doc["config"]
    llama, modeld = doc["llama_cpp"], doc["modeld"]
    commit = (modeld["commit"] or "unknown")[:10] + (" + local changes" if modeld["dirty"] else "")
    patches = llama.get("patches") or []
    patched = f" + {len(patches)} speed-only patch(es) (scripts/llama-patches)" if patches else ""
    lines = [
        "## Benchmarks", "",
        f"Run {doc['started_utc']} — **{doc['label']}**. {m['nproc']} × {m['cpu_model']}, "
        f"{m['mem_total_kb'] / 1048576:.0f} GiB; llama.cpp {llama['tag']} "
        f"({(llama['commit'] or '')[:10]}){patched}; modeld {commit}. Every contender: same GGUF file, "
        f"{cfg['threads']} threads, context {cfg['ctx']}, greedy sampling; one warm-up, then "
        f"{cfg['reps']} round(s) run alternately; **median** (min–max).", "",
        f"Reproduce with `make bench` (`make bench-quick` for a short run). Every sample: "
        f"`bench/results/{json_name}`.", ""]
    if chart_path:
        lines += [f"![modeld benchmarks]({chart_path})", ""]
    res = doc["scenarios"]
    if doc.get("targets"):
        lines += _targets(doc["targets"]) + [""]
    alloc = cfg.get("allocator") or {}
    for key, fn in (("decode", _decode), ("ttft", _ttft),
                    ("switch", lambda r: _switch(r, alloc)), ("standby", _standby),
                    ("coldcache", lambda r: _coldcache(r, alloc)), ("repack", _repack),
                    ("memory", _memory), ("pertoken", _pertoken),
                    ("concurrency", _concurrency), ("chat", _chat),
                    ("embeddings", _embeddings),
                    ("json_schema", _json_schema)):
        if res.get(key):
            lines += fn(res[key]) + [""]
    notes = [f"¹ n/a: {why}." for why in doc["contenders_missing"].values()]
    if any("failed²" in line for line in lines):
        notes.append("² failed: the JSON has the reason.")
    lines += [n + "  " for n in notes]  # two spaces: Markdown line breaks
    return "\n".join(lines).rstrip() + "\n"
