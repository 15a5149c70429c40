"""The benchmark driver: runs the selected scenarios and writes
<out>/<UTC timestamp>.json, <out>/latest.md and <out>/latest.png."""

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import time

from harness import machine, report_chart, report_md, schema, targets
from harness import (scenario_chat, scenario_coldcache, scenario_concurrency,
                     scenario_embeddings, scenario_jsonschema, scenario_pertoken, scenario_repack,
                     scenario_standby, scenario_switch,
                     scenario_throughput)
from harness.context import CHAT_REPLY_TOKENS, CHAT_USER_WORDS, Bench
from harness.contenders import MeasureError, modeld_infer, probe_count_tokens
from harness.procs import (ServerError, hugetlb_env, modeld_malloc_env, start_modeld,
                           write_modeld_config)
from harness.util import CpuMeter, loadavg, log, wait_quiet

SCENARIOS = ["decode", "ttft", "switch", "standby", "coldcache", "repack", "memory", "pertoken",
             "concurrency", "chat", "embeddings", "json_schema"]
SHARED_MODELD = ("decode", "ttft", "switch")  # the scenarios that use the run's one modeld
STEP_SCENARIOS = {"throughput": ("decode", "ttft")}
NOISY_LOAD = 1.5        # a 1-minute load average above this makes numbers unreliable
NOISY_FOREIGN = 0.10    # so does other processes using more than 10% of the CPUs


def _levels(text):
    try:
        levels = sorted({int(x) for x in text.split(",") if x})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of numbers: {text}") from None
    if not levels or levels[0] < 1 or levels[-1] > 64:
        raise argparse.ArgumentTypeError(f"clients must be 1..64 (modeld's parallel): {text}")
    return levels


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench", description=__doc__)
    p.add_argument("--scenario", default=",".join(SCENARIOS),
                   help="comma list of " + ",".join(SCENARIOS))
    p.add_argument("--models", help="comma list of presets (default tiny,small,1b; quick: tiny)")
    p.add_argument("--quick", action="store_true", help="short profile: 2 reps, 64 tokens")
    p.add_argument("--reps", type=int)
    p.add_argument("--tokens", type=int)
    p.add_argument("--memory-switches", type=int)
    p.add_argument("--clients", type=_levels,
                   help="concurrency: comma list of clients at once (default 1,2,4,8; quick: 1,2)")
    p.add_argument("--concurrency-tokens", type=int,
                   help="concurrency: tokens per client (default 128; quick: 16)")
    p.add_argument("--chat-turns", type=int,
                   help="chat: turns of the conversation (default 8; quick: 3)")
    p.add_argument("--out", required=True, help="results folder")
    p.add_argument("--root", required=True, help="repository root")
    p.add_argument("--modeld", required=True)
    p.add_argument("--build-dir", required=True, help="CMake build with bench/ targets")
    p.add_argument("--llama-bin", default="", help="folder with llama-bench and llama-server")
    p.add_argument("--llama-missing-reason", default="not built (run scripts/setup.sh --tools)")
    p.add_argument("--models-dir", required=True)
    p.add_argument("--wait-quiet", type=float, default=0,
                   help="minutes to wait for a 1-minute load average below --quiet-below")
    p.add_argument("--quiet-below", type=float, default=1.2)
    p.add_argument("--keep-workdir", action="store_true")
    a = p.parse_args(argv)
    a.scenarios = [s for s in a.scenario.split(",") if s]
    bad = [s for s in a.scenarios if s not in SCENARIOS]
    if bad:
        p.error(f"unknown scenario(s) {bad}; choose from {SCENARIOS}")
    if a.chat_turns is not None and a.chat_turns < 1:
        p.error("--chat-turns must be at least 1")
    a.model_ids = [m for m in (a.models or ("tiny" if a.quick else "tiny,small,1b")).split(",") if m]
    return a


def setup(b, a):
    b.add_tool("modeld", a.modeld, f"{a.modeld} not found (run make build)")
    if "modeld" in b.missing:
        sys.exit(f"bench: {b.missing['modeld']}")
    b.add_tool("floor-probe", os.path.join(a.build_dir, "bench", "modeld-floor-probe"),
               "modeld-floor-probe not built (needs the bench/ targets)")
    b.add_tool("serving-path-bench",
               os.path.join(a.build_dir, "bench", "modeld-serving-path-bench"),
               "modeld-serving-path-bench not built (needs Google Benchmark)")
    for tool in ("llama-bench", "llama-server"):
        b.add_tool(tool, os.path.join(a.llama_bin, tool) if a.llama_bin else "",
                   f"{tool} {a.llama_missing_reason}")
    ids = list(a.model_ids)
    if len(ids) == 1:
        ids.append(f"{ids[0]}-b")  # a twin file to switch to (scripts/models.sh test)
    for mid in ids:
        path = os.path.abspath(os.path.join(a.models_dir, f"{mid}.gguf"))
        if os.path.isfile(path):
            b.models[mid] = path
        elif mid in a.model_ids:
            sys.exit(f"bench: model file {path} is missing (scripts/models.sh generates it)")
    if "chat" in a.scenarios:
        # chat's in-between request goes to tiny (tiny-b for tiny), measured or not
        for mid in ("tiny", "tiny-b"):
            path = os.path.abspath(os.path.join(a.models_dir, f"{mid}.gguf"))
            if mid not in b.models and os.path.isfile(path):
                b.extra_models[mid] = path


def make_token_counter(b, modeld):
    """Counts prompt tokens as modeld does: with the probe's vocabulary-only
    tokenizer when built, else from modeld's own usage.prompt_tokens."""
    def count(mid, text):
        if b.tool("floor-probe"):
            return probe_count_tokens(b.tool("floor-probe"), b.models[mid], text)
        return modeld_infer(modeld.port, mid, text, 1)["prompt_tokens"]
    return count


def _run_steps(steps, scenarios, results, noise):
    """Runs the steps that a scenario of the run asks for, recording the
    noise of each (the throughput step measures decode and ttft)."""
    for name, fn in steps:
        if not set(STEP_SCENARIOS.get(name, [name])) & set(scenarios):
            continue
        meter, la0, t0 = CpuMeter(), loadavg(), time.monotonic()
        results.update(fn())
        noise[name] = {"loadavg_start": la0, "loadavg_end": loadavg(),
                       "foreign_cpu_share": round(meter.foreign_share(), 4),
                       "duration_s": round(time.monotonic() - t0, 1)}


def run_scenarios(b, a):
    """decode, ttft and switch share one modeld, stopped before the other
    scenarios start their own servers: coldcache needs every model file
    unmapped, standby and repack their own registry."""
    results, noise = {}, {}
    if set(SHARED_MODELD) & set(a.scenarios):
        config = os.path.join(b.workdir, "models.yaml")
        write_modeld_config(config, b.models, b.threads, b.ctx)
        modeld = start_modeld(b.tools["modeld"], config, b.threads, b.workdir)
        try:
            _run_steps([("throughput", lambda: scenario_throughput.run(
                            b, modeld, [s for s in ("decode", "ttft") if s in a.scenarios],
                            make_token_counter(b, modeld))),
                        ("switch", lambda: {"switch": scenario_switch.run_switch(b, modeld)})],
                       a.scenarios, results, noise)
        finally:
            modeld.stop()
    _run_steps([("standby", lambda: {"standby": scenario_standby.run(b)}),
                ("coldcache", lambda: {"coldcache": scenario_coldcache.run(b)}),
                ("repack", lambda: {"repack": scenario_repack.run(b, results.get("decode"))}),
                ("memory", lambda: {"memory": scenario_switch.run_memory(b)}),
                ("pertoken", lambda: {"pertoken": scenario_pertoken.run(
                    b, results.get("decode"))}),
                ("concurrency", lambda: {"concurrency": scenario_concurrency.run(b)}),
                ("chat", lambda: {"chat": scenario_chat.run(b)}),
                ("embeddings", lambda: {"embeddings": scenario_embeddings.run(b)}),
                ("json_schema", lambda: {"json_schema": scenario_jsonschema.run(b)})],
               a.scenarios, results, noise)
    return results, noise


def allocator_settings():
    """GLIBC_TUNABLES of each switching contender: modeld re-execs itself
    with glibc.malloc.hugetlb=1 (unless opted out), the floor probe runs
    under the same setting, the router as users run it and once with it."""
    same = modeld_malloc_env().get("GLIBC_TUNABLES")
    return {"modeld": same, "floor": same,
            "llama-server-router": os.environ.get("GLIBC_TUNABLES"),
            "llama-server-router-thp": hugetlb_env().get("GLIBC_TUNABLES"),
            "MODELD_HUGEPAGES": os.environ.get("MODELD_HUGEPAGES")}


def label(noise_total):
    la = noise_total["loadavg_start"][0]
    share = noise_total["foreign_cpu_share"]
    if la <= NOISY_LOAD and share <= NOISY_FOREIGN:
        return f"quiet: load avg {la:.2f} at start, other processes {share:.0%} of the CPUs"
    return f"noisy: load avg {la:.2f} at start, other processes {share:.0%} of the CPUs"


def main(argv=None):
    a = parse_args(argv if argv is not None else sys.argv[1:])
    # SIGTERM unwinds like an error, so every server we started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.makedirs(a.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="modeld-bench-")
    b = Bench(a, os.path.abspath(a.root), workdir)
    setup(b, a)
    if a.wait_quiet > 0:
        wait_quiet(a.quiet_below, a.wait_quiet)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    doc = {"schema": schema.SCHEMA, "started_utc": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "profile": "quick" if a.quick else "full",
           "config": {"scenarios": a.scenarios, "models": b.measured_models(),
                      "all_model_files": list(b.models), "reps": b.reps, "tokens": b.tokens,
                      "threads": b.threads, "ctx": b.ctx, "memory_switches": b.memory_switches,
                      "switch_pairs": [list(p) for p in b.switch_pairs()],
                      "allocator": allocator_settings(),
                      "concurrency": {"clients": b.clients, "tokens": b.concurrency_tokens,
                                      "reps": b.concurrency_reps,
                                      "models": b.concurrency_models()},
                      "chat": {"turns": b.chat_turns, "reps": b.chat_reps,
                               "models": b.chat_models(), "reply_tokens": CHAT_REPLY_TOKENS,
                               "user_words": CHAT_USER_WORDS,
                               "other_models": {mid: b.chat_other(mid)
                                                for mid in b.chat_models()}},
                      "argv": sys.argv[1:]},
           "machine": machine.machine(), "llama_cpp": machine.llama_pin(b.root),
           "modeld": {**machine.modeld_commit(b.root), "binary": a.modeld},
           "models": machine.model_files({**b.models, **b.extra_models}), "tools": dict(b.tools)}
    meter = CpuMeter()
    try:
        results, noise = run_scenarios(b, a)
    except (ServerError, MeasureError) as e:
        log(f"run aborted: {e}")
        return 1
    noise["total"] = {"loadavg_start": doc["machine"]["loadavg_start"], "loadavg_end": loadavg(),
                      "foreign_cpu_share": round(meter.foreign_share(), 4)}
    doc.update({"finished_utc": datetime.datetime.now(datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"),
                "duration_s": round(time.monotonic() - t0, 1),
                "label": label(noise["total"]), "noise": noise["total"], "noise_by_step": noise,
                "contenders_missing": dict(b.missing), "scenarios": results})
    doc["targets"] = targets.evaluate(results)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    json_name = f"{stamp}.json"
    with open(os.path.join(a.out, json_name), "w") as f:
        json.dump(doc, f, indent=1)
    png = os.path.join(a.out, "latest.png")
    chart = report_chart.render(doc, png, workdir)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(report_md.render(doc, json_name, "bench/results/latest.png" if chart else None))
    problems = schema.validate(doc)
    for p in problems:
        log(f"schema: {p}")
    log(f"wrote {os.path.join(a.out, json_name)} ({doc['label']}, {doc['duration_s']} s)")
    if not a.keep_workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"work files kept in {workdir}")
    return 1 if problems else 0
