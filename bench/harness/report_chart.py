"""bench/results/latest.png: decode, time to first token and switch latency
side by side (medians with min–max bars), drawn by gnuplot."""

import os
import shutil
import subprocess

from harness.context import TTFT_PROMPT_TOKENS
from harness.util import log

PANELS = [
    # scenario, title, y label, contender columns (key, legend)
    ("decode", "Decode throughput (higher is better)", "tokens/s",
     [("modeld-sse", "modeld SSE"), ("modeld-ndjson", "modeld ndjson"),
      ("llama-server", "llama-server"), ("llama-bench-tg", "llama-bench tg")]),
    ("ttft", f"Time to first token, {TTFT_PROMPT_TOKENS}-token prompt (lower is better)", "ms",
     [("modeld", "modeld"), ("llama-server", "llama-server"),
      ("llama-bench-pp", f"llama-bench pp{TTFT_PROMPT_TOKENS}")]),
    ("switch", "Switch to first token, warm cache (lower is better)", "ms",
     [("modeld", "modeld"), ("llama-server-router", "llama-server router"),
      ("llama-server-router-thp", "router, hugetlb malloc"), ("floor", "in-process floor")]),
]


def _lookup(contenders, key):
    """The entry for `key`; llama-bench keys match by prefix (tg256, pp128)."""
    for name, e in contenders.items():
        if name == key or (key.startswith("llama-bench") and name.startswith(key)):
            return e
    return None


def _write_data(path, rows, columns):
    with open(path, "w") as f:
        for label, contenders in rows:
            vals = []
            for key, _ in columns:
                e = _lookup(contenders, key)
                if e is None or e.get("median") is None:
                    vals += ["NaN"] * 3
                else:
                    vals += [repr(e["median"]), repr(e["min"]), repr(e["max"])]
            f.write(f'"{label}" ' + " ".join(vals) + "\n")


def render(doc, png_path, workdir):
    if not shutil.which("gnuplot"):
        log("gnuplot not installed: no chart")
        return False
    panels = []
    for scenario, title, ylabel, columns in PANELS:
        res = doc["scenarios"].get(scenario)
        if not res or "skipped" in res:
            continue
        rows = [(k.replace("->", "→"), v["contenders"]) for k, v in res.items()]
        data = os.path.join(workdir, f"chart-{scenario}.dat")
        _write_data(data, rows, columns)
        plots = ", ".join(
            f"'{data}' using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}:xtic(1) title '{legend}'"
            for i, (_, legend) in enumerate(columns))
        panels.append("\n".join([
            f"set title '{title}'", f"set ylabel '{ylabel}'", f"plot {plots}"]))
    if not panels:
        return False
    script = "\n".join([
        f"set terminal pngcairo size {560 * len(panels)},460 font 'sans,9'",
        f"set output '{png_path}'",
        "set datafile missing 'NaN'",
        "set style data histogram",
        "set style histogram errorbars gap 1 lw 1",
        "set style fill solid 0.8 border -1",
        "set logscale y", "set grid ytics", "set key below",
        "set yrange [*:*]", "set xtics nomirror",
        f"set multiplot layout 1,{len(panels)} title 'modeld benchmarks: {doc['label']}'",
        *panels,
        "unset multiplot"]) + "\n"
    script_path = os.path.join(workdir, "chart.gp")
    with open(script_path, "w") as f:
        f.write(script)
    p = subprocess.run(["gnuplot", script_path], capture_output=True, text=True)
    if p.returncode != 0:
        log(f"gnuplot failed: {p.stderr[-500:]}")
        return False
    return True
