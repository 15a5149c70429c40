"""Checks that a results document has every field the report and readers
rely on. Returns a list of problems (empty when the document is complete)."""

from numbers import Number

from harness.switching import FAULTS, FLOOR_PHASES, MODELD_BREAKDOWN

SCHEMA = "modeld-bench/1"
STATUSES = ("ok", "missing", "failed")

TOP = {
    "schema": str, "started_utc": str, "finished_utc": str, "duration_s": Number,
    "profile": str, "label": str, "config": dict, "machine": dict, "llama_cpp": dict,
    "modeld": dict, "models": dict, "contenders_missing": dict, "noise": dict,
    "scenarios": dict, "targets": list,
}
NESTED = {
    "config": ("scenarios", "models", "reps", "tokens", "threads", "ctx", "allocator"),
    "machine": ("nproc", "cpu_model", "mem_total_kb", "loadavg_start"),
    "llama_cpp": ("tag", "commit"),
    "modeld": ("commit", "dirty"),
    "noise": ("loadavg_start", "loadavg_end", "foreign_cpu_share"),
}
CONTENDERS = {
    "decode": ("modeld-sse", "modeld-ndjson", "llama-server", "llama-bench-tg"),
    "ttft": ("modeld", "llama-server", "llama-bench-pp"),
    "switch": ("modeld", "llama-server-router", "llama-server-router-thp", "floor"),
    "standby": ("modeld-standby", "llama-server-router", "llama-server-router-thp"),
    "coldcache": ("modeld", "llama-server-router", "llama-server-router-thp", "floor"),
    "repack": ("modeld-repack", "modeld-no-repack"),
    "concurrency": ("modeld", "llama-server"),
    "chat": ("modeld", "llama-server", "modeld-switch", "llama-server-router"),
    "embeddings": ("modeld", "llama-server"),
    "json_schema": ("modeld-free", "modeld-schema", "llama-server-free", "llama-server-schema"),
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


def _medians(where, got, keys, measured, problems):
    """A {key: median} block: every key there, numbers when `measured`."""
    if not isinstance(got, dict):
        problems.append(f"{where}: missing")
        return
    for k in keys:
        if k not in got:
            problems.append(f"{where}.{k} missing")
        elif measured and not isinstance(got[k], Number):
            problems.append(f"{where}.{k}: measured but not a number")


def _breakdown(where, block, problems):
    """Phases and page faults per switch of modeld (from its log) and the floor."""
    cs = block.get("contenders") or {}
    for name, e in cs.items():
        if not (name.startswith("modeld") or name == "floor"):
            continue
        ok = isinstance(e, dict) and e.get("status") == "ok"
        keys = FLOOR_PHASES if name == "floor" else MODELD_BREAKDOWN
        _medians(f"{where}.phases.{name}", (block.get("phases") or {}).get(name), keys, ok,
                 problems)
        _medians(f"{where}.faults.{name}", (block.get("faults") or {}).get(name), FAULTS, ok,
                 problems)


def _switching(name, res, problems, expect_ok, extra=()):
    """A switching scenario's directions: contenders, ratios, phases and
    faults, and the fields in `extra` on every direction."""
    dirs = res if name == "switch" else res.get("directions")
    if not isinstance(dirs, dict) or not dirs:
        problems.append(f"{name}: no directions")
        return
    for d, block in dirs.items():
        _contenders(f"{name}/{d}", block, CONTENDERS[name], problems, expect_ok)
        _breakdown(f"{name}/{d}", block, problems)
        for f in extra:
            if f not in block:
                problems.append(f"{name}/{d}.{f} missing")


def _decode_faults(mid, block, problems):
    for name in ("modeld-sse", "modeld-ndjson"):
        ok = (block.get("contenders") or {}).get(name, {}).get("status") == "ok"
        _medians(f"decode/{mid}.modeld_faults.{name}",
                 (block.get("modeld_faults") or {}).get(name), FAULTS, ok, problems)
    if "modeld_anon_huge_kb" not in block:
        problems.append(f"decode/{mid}.modeld_anon_huge_kb missing")


def _repack(res, problems, expect_ok):
    if "file_types" not in res:
        problems.append("repack.file_types missing")
    if "skipped" in res:
        return
    if not res.get("models"):
        problems.append("repack: no models")
    for mid, block in (res.get("models") or {}).items():
        _contenders(f"repack/{mid}", block, CONTENDERS["repack"], problems, expect_ok)
        for name in CONTENDERS["repack"]:
            ok = (block.get("contenders") or {}).get(name, {}).get("status") == "ok"
            _medians(f"repack/{mid}.summary.{name}", (block.get("summary") or {}).get(name),
                     ("model_ms", "ttft_ms", "tok_s", "RssAnon") + FAULTS, ok, problems)


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
    for name in ("decode", "ttft", "json_schema"):
        for mid in doc["config"]["models"] if name in sc else []:
            if mid not in sc[name]:
                problems.append(f"{name}: model {mid} absent")
            else:
                _contenders(f"{name}/{mid}", sc[name][mid], CONTENDERS[name], problems, expect_ok)
                if name == "decode":
                    _decode_faults(mid, sc[name][mid], problems)
    if "switch" in sc and "skipped" not in sc["switch"]:
        _switching("switch", sc["switch"], problems, expect_ok)
    if "standby" in sc and "skipped" not in sc["standby"]:
        _switching("standby", sc["standby"], problems, expect_ok, ("standby_hits",))
        for f in ("standby_bytes", "models", "metrics", "rss_kb"):
            if f not in sc["standby"]:
                problems.append(f"standby.{f} missing")
    if "coldcache" in sc and "skipped" not in sc["coldcache"]:
        _switching("coldcache", sc["coldcache"], problems, expect_ok, ("cache_left_pct",))
    if "repack" in sc:
        _repack(sc["repack"], problems, expect_ok)
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
    if "embeddings" in sc:
        for mid in doc["config"]["models"]:
            if mid not in sc["embeddings"]:
                problems.append(f"embeddings: model {mid} absent")
            else:
                _contenders(f"embeddings/{mid}", sc["embeddings"][mid], CONTENDERS["embeddings"],
                            problems, expect_ok)
    if "pertoken" in sc:
        for f in ("allocations", "instructions", "end_to_end"):
            if f not in sc["pertoken"]:
                problems.append(f"pertoken.{f} missing")
    for i, row in enumerate(doc["targets"]):
        for f in ("scenario", "subject", "metric", "target", "value", "met"):
            if f not in row:
                problems.append(f"targets[{i}].{f} missing")
    return problems
