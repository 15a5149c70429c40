"""Small helpers: statistics, ports, logging, load and CPU accounting."""

import os
import resource
import socket
import statistics
import sys
import time


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def summarize(samples):
    """Median and range of a list of numbers (None when empty)."""
    if not samples:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {
        "n": len(samples),
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
    }


def percentile(values, q):
    """The q-th percentile (0..100), linear between the closest ranks (as
    numpy's default); None when empty. With few values p99 is nearly the max."""
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def ok_entry(samples, unit, details=None, **extra):
    """A contender's result: every sample plus its summary."""
    entry = {"status": "ok", "unit": unit, "samples": list(samples)}
    entry.update(summarize(samples))
    entry["details"] = details or []
    entry.update(extra)
    return entry


def missing_entry(reason, unit):
    """A contender that could not run here, said explicitly (never faked)."""
    return {"status": "missing", "reason": reason, "unit": unit, "samples": [],
            "details": [], **summarize([])}


def failed_entry(reason, unit, details=None):
    return {"status": "failed", "reason": reason, "unit": unit, "samples": [],
            "details": details or [], **summarize([])}


def ratio(a, b):
    """a / b from two summaries' medians, or None."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def wait_quiet(threshold, minutes, poll_s=30):
    """Waits until the 1-minute load average is below threshold, at most
    `minutes`. Returns the load average seen last."""
    deadline = time.monotonic() + minutes * 60
    la = loadavg()
    while la[0] >= threshold and time.monotonic() < deadline:
        log(f"waiting for a quiet machine: load avg {la[0]:.2f} >= {threshold}")
        time.sleep(poll_s)
        la = loadavg()
    return la


_CLK = os.sysconf("SC_CLK_TCK")


def _busy_seconds():
    """CPU time all processes have used (every core), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / _CLK


def _descendants(root):
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append((int(name), rest))
    out, todo = [], [root]
    while todo:
        for pid, rest in kids.get(todo.pop(), []):
            out.append(rest)
            todo.append(pid)
    return out


def _own_seconds():
    """CPU time used by this process and everything it started."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    for rest in _descendants(os.getpid()):
        # utime stime cutime cstime are fields 14..17 (1-based) of stat.
        total += sum(int(x) for x in rest[11:15]) / _CLK
    return total


class CpuMeter:
    """How much CPU other processes took while we measured: the share of
    all cores used by processes that are not ours."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.busy0 = _busy_seconds()
        self.own0 = _own_seconds()

    def foreign_share(self):
        elapsed = time.monotonic() - self.t0
        if elapsed <= 0:
            return 0.0
        foreign = (_busy_seconds() - self.busy0) - (_own_seconds() - self.own0)
        return max(0.0, foreign) / (elapsed * (os.cpu_count() or 1))
