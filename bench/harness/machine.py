"""Where and with what the run happened: machine, llama.cpp pin, modeld commit."""

import os
import platform
import subprocess

from harness.util import loadavg


def _first(path, key):
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k.strip() == key:
                    return v.strip()
    except OSError:
        pass
    return None


def machine():
    mem = _first("/proc/meminfo", "MemTotal")
    return {
        "nproc": os.cpu_count(),
        "nproc_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "cpu_flags_avx2": "avx2" in (_first("/proc/cpuinfo", "flags") or "").split(),
        "cpu_flags_avx512f": "avx512f" in (_first("/proc/cpuinfo", "flags") or "").split(),
        "mem_total_kb": int(mem.split()[0]) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_start": loadavg(),
    }


def llama_pin(root):
    pin = {}
    try:
        with open(os.path.join(root, "scripts", "llama-pin.env")) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    pin[k] = v
    except OSError:
        pass
    # The speed-only patches scripts/setup.sh applies (scripts/llama-patches/).
    pdir = os.path.join(root, "scripts", "llama-patches")
    patches = sorted(f for f in os.listdir(pdir) if f.endswith(".patch")) if os.path.isdir(pdir) else []
    return {"tag": pin.get("LLAMA_TAG"), "commit": pin.get("LLAMA_COMMIT"),
            "npm_package": pin.get("LLAMA_NPM_PACKAGE"), "npm_version": pin.get("LLAMA_NPM_VERSION"),
            "patches": patches}


def modeld_commit(root):
    def git(*args):
        try:
            return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    commit = git("rev-parse", "HEAD") or None
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"commit": commit, "dirty": dirty}


def model_files(models):
    return {mid: {"path": p, "bytes": os.path.getsize(p)} for mid, p in models.items()}
