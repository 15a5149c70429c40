"""Runs contenders fairly: one unrecorded warm-up each, then N rounds in a
fixed order (A B C, A B C, ...) so slow drift of the machine hits every
contender alike."""

import time

from harness.contenders import MeasureError
from harness.util import failed_entry, log, missing_entry, ok_entry


class Contender:
    """`measure()` returns a list of sample details; `key` names the value in
    each. With `groups` (e.g. the two directions of a switch), each detail's
    "group" says which result it belongs to; without, there is one result.
    `missing` is the reason the contender cannot run here. `warmup`, when
    given, replaces the unrecorded warm-up measurement (e.g. a shorter one)."""

    def __init__(self, name, unit, key, measure=None, missing=None, groups=None, warmup=None):
        self.name, self.unit, self.key = name, unit, key
        self.measure, self.missing = measure, missing
        self.groups = groups or [None]
        self.warmup = warmup


def alternate(contenders, reps, pause_s=0.2):
    """Returns {group: {contender name: entry}} (group None when ungrouped)."""
    out = {}
    errors = {c.name: [] for c in contenders}
    samples = {(c.name, g): [] for c in contenders for g in c.groups}

    active = []
    for c in contenders:
        if c.missing:
            continue
        try:
            (c.warmup or c.measure)()  # warm-up, not recorded
            active.append(c)
        except MeasureError as e:
            log(f"{c.name}: warm-up failed: {e}")
            errors[c.name].append(f"warm-up: {e}")

    for rep in range(reps):
        for c in active:
            time.sleep(pause_s)  # let the previous contender's threads go idle
            try:
                details = c.measure()
            except MeasureError as e:
                log(f"{c.name}: rep {rep}: {e}")
                errors[c.name].append(f"rep {rep}: {e}")
                continue
            for d in details:
                d["rep"] = rep
                if d.get(c.key) is None:
                    errors[c.name].append(f"rep {rep}: no {c.key}")
                    continue
                samples[(c.name, d.get("group"))].append(d)

    for c in contenders:
        for g in c.groups:
            ds = samples[(c.name, g)]
            if c.missing:
                entry = missing_entry(c.missing, c.unit)
            elif ds:
                entry = ok_entry([d[c.key] for d in ds], c.unit, ds, errors=errors[c.name])
            else:
                entry = failed_entry("; ".join(errors[c.name])[:500] or "no samples", c.unit)
            out.setdefault(g, {})[c.name] = entry
    return out
