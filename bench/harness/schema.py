"""Checks that a results document has every field the report and readers
rely on. Returns a list of problems (empty when the document is complete)."""

from numbers import Number

SCHEMA = "modeld-bench/1"
STATUSES = ("ok", "missing", "failed")

TOP = {
    "schema": str, "started_utc": str, "finished_utc": str, "duration_s": Number,
    "profile": str, "label": str, "config": dict, "machine": dict, "llama_cpp": dict,
    "modeld": dict, "models": dict, "contenders_missing": dict, "noise": dict,
    "scenarios": dict, "targets": list,
}
NESTED = {
    "config": ("scenarios", "models", "reps", "tokens", "threads", "ctx"),
    "machine": ("nproc", "cpu_model", "mem_total_kb", "loadavg_start"),
    "llama_cpp": ("tag", "commit"),
    "modeld": ("commit", "dirty"),
    "noise": ("loadavg_start", "loadavg_end", "foreign_cpu_share"),
}
CONTENDERS = {
    "decode": ("modeld-sse", "modeld-ndjson", "llama-server", "llama-bench-tg"),
    "ttft": ("modeld", "llama-server", "llama-bench-pp"),
    "switch": ("modeld", "llama-server-router", "floor"),
    "concurrency": ("modeld", "llama-server"),
    "chat": ("modeld", "llama-server", "modeld-switch", "llama-server-router"),
}
LATENCY = ("ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms")


def _entry(where, e, problems, expect_ok):
    if not isinstance(e, dict) or e.get("status") not in STATUSES:
        problems.append(f"{where}: no valid status")
        return
    for k in ("unit", "samples", "details", "n", "median", "min", "max"):
        if k not in e:
            problems.append(f"{where}: missing {k}")
    if e["status"] == "ok":
        s = e.get("samples") or []
        if not s or not all(isinstance(x, Number) for x in s):
            problems.append(f"{where}: ok but samples are empty or not numbers")
        elif e.get("n") != len(s) or len(e.get("details", [])) != len(s):
            problems.append(f"{where}: n/details do not match the samples")
        for k in ("median", "min", "max"):
            if not isinstance(e.get(k), Number):
                problems.append(f"{where}: {k} is not a number")
    else:
        if not isinstance(e.get("reason"), str) or not e["reason"]:
            problems.append(f"{where}: {e['status']} without a reason")
        if expect_ok(where):
            problems.append(f"{where}: expected ok, got {e['status']}: {e.get('reason')}")


def _contenders(where, block, names, problems, expect_ok):
    got = block.get("contenders") if isinstance(block, dict) else None
    if not isinstance(got, dict):
        problems.append(f"{where}: no contenders")
        return
    for want in names:
        match = [k for k in got if k == want or k.startswith(want)]
        if not match:
            problems.append(f"{where}: contender {want} absent (missing ones must be marked)")
        for k in match:
            _entry(f"{where}/{k}", got[k], problems, expect_ok)
    if "ratios" not in block:
        problems.append(f"{where}: no ratios")


def _concurrency(res, config, problems, expect_ok):
    """Every model and client level, both contenders, latency summaries."""
    want = config.get("concurrency") or {}
    for f in ("clients", "tokens", "reps", "models"):
        if f not in want:
            problems.append(f"config.concurrency.{f} missing")
    for mid in want.get("models", []):
        block = res.get(mid)
        if not isinstance(block, dict) or not isinstance(block.get("levels"), dict):
            problems.append(f"concurrency: model {mid} absent or without levels")
            continue
        for f in ("tokens", "clients", "parallel", "prompts"):
            if f not in block:
                problems.append(f"concurrency/{mid}.{f} missing")
        for n in want.get("clients", []):
            level = block["levels"].get(str(n))
            where = f"concurrency/{mid}/{n}"
            if level is None:
                problems.append(f"{where}: level absent")
                continue
            _contenders(where, level, CONTENDERS["concurrency"], problems, expect_ok)
            for name, e in (level.get("contenders") or {}).items():
                lat = e.get("latency") if isinstance(e, dict) else None
                if not isinstance(lat, dict) or any(k not in lat for k in LATENCY):
                    problems.append(f"{where}/{name}: latency summaries missing")
                elif e.get("status") == "ok" and not isinstance(lat["ttft_p50_ms"]["median"],
                                                                 Number):
                    problems.append(f"{where}/{name}: ok but no TTFT p50")
            r = (level.get("ratios") or {}).get("modeld/llama-server")
            if not isinstance(r, dict) or "tok_s" not in r or "ttft_p50_ms" not in r:
                problems.append(f"{where}: ratios modeld/llama-server incomplete")


def _chat(res, config, problems, expect_ok):
    """Every model and turn, the four contenders, per-turn ratios; modeld's
    cached_tokens on every turn it measured."""
    want = config.get("chat") or {}
    for f in ("turns", "reps", "models", "reply_tokens", "user_words", "other_models"):
        if f not in want:
            problems.append(f"config.chat.{f} missing")
    for mid in want.get("models", []):
        block = res.get(mid)
        if not isinstance(block, dict) or not isinstance(block.get("turns"), dict):
            problems.append(f"chat: model {mid} absent or without turns")
            continue
        for f in ("turns_n", "reply_tokens", "user_words", "other_model", "cached_tokens",
                  "prompt_tokens", "switch"):
            if f not in block:
                problems.append(f"chat/{mid}.{f} missing")
        sw = block.get("switch") or {}
        if not isinstance(sw.get("modeld_switch_back_ms"), dict):
            problems.append(f"chat/{mid}: switch.modeld_switch_back_ms missing")
        for k in range(1, want.get("turns", 0) + 1):
            where = f"chat/{mid}/{k}"
            tb = block["turns"].get(str(k))
            if tb is None:
                problems.append(f"{where}: turn absent")
                continue
            _contenders(where, tb, CONTENDERS["chat"], problems, expect_ok)
            for f in ("modeld/llama-server", "modeld-switch/modeld",
                      "llama-server-router/modeld-switch"):
                if f not in (tb.get("ratios") or {}):
                    problems.append(f"{where}: ratio {f} missing")
            for name in ("modeld", "modeld-switch"):
                e = (tb.get("contenders") or {}).get(name) or {}
                if e.get("status") != "ok":
                    continue
                if any(not isinstance(d.get("cached_tokens"), Number) for d in e["details"]):
                    problems.append(f"{where}/{name}: a turn without cached_tokens")
                if name == "modeld-switch" and str(k) not in sw.get("modeld_switch_back_ms", {}):
                    problems.append(f"{where}: no switch-back time")


def validate(doc, expect_ok_names=()):
    problems = []

    def expect_ok(where):
        return where.rsplit("/", 1)[-1] in expect_ok_names

    for k, t in TOP.items():
        if not isinstance(doc.get(k), t):
            problems.append(f"top-level {k} missing or not {t.__name__}")
    if problems:
        return problems
    if doc["schema"] != SCHEMA:
        problems.append(f"schema is {doc['schema']}, expected {SCHEMA}")
    for k, fields in NESTED.items():
        for f in fields:
            if f not in doc[k]:
                problems.append(f"{k}.{f} missing")
    sc = doc["scenarios"]
    for name in doc["config"].get("scenarios", []):
        if name not in sc:
            problems.append(f"scenario {name} requested but absent")
    for name in ("decode", "ttft"):
        for mid in doc["config"]["models"] if name in sc else []:
            if mid not in sc[name]:
                problems.append(f"{name}: model {mid} absent")
            else:
                _contenders(f"{name}/{mid}", sc[name][mid], CONTENDERS[name], problems, expect_ok)
    if "switch" in sc and "skipped" not in sc["switch"]:
        if not sc["switch"]:
            problems.append("switch: no directions")
        for d, block in sc["switch"].items():
            _contenders(f"switch/{d}", block, CONTENDERS["switch"], problems, expect_ok)
    if "memory" in sc and "skipped" not in sc["memory"]:
        mem = sc["memory"]
        for f in ("pair", "switches", "checkpoints", "samples", "growth_kb", "errors"):
            if f not in mem:
                problems.append(f"memory.{f} missing")
        if len(mem.get("samples", [])) != mem.get("switches"):
            problems.append("memory: not one RSS sample per switch")
        if mem.get("errors"):
            problems.append(f"memory: switches failed: {mem['errors'][:3]}")
    if "concurrency" in sc:
        _concurrency(sc["concurrency"], doc["config"], problems, expect_ok)
    if "chat" in sc:
        _chat(sc["chat"], doc["config"], problems, expect_ok)
    if "pertoken" in sc:
        for f in ("allocations", "instructions", "end_to_end"):
            if f not in sc["pertoken"]:
                problems.append(f"pertoken.{f} missing")
    for i, row in enumerate(doc["targets"]):
        for f in ("scenario", "subject", "metric", "target", "value", "met"):
            if f not in row:
                problems.append(f"targets[{i}].{f} missing")
    return problems
