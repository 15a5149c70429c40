#!/usr/bin/env python3
"""Checks a benchmark results JSON for completeness (no speed assertions).

  check_results.py RESULTS.json [--expect-ok NAME,NAME...] [--expect-missing NAME,...]

--expect-ok: these contenders must have measured (status ok) wherever they
appear. --expect-missing: these must be present and marked missing with a
reason (never silently absent). Exit 0 when complete, 1 with the problems."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.schema import validate  # noqa: E402


def _blocks(doc, scenario):
    """(key, block) of a scenario's per-model or per-direction blocks."""
    res = doc["scenarios"].get(scenario) or {}
    inner = {"standby": "directions", "coldcache": "directions", "repack": "models"}
    if scenario in inner:
        res = res.get(inner[scenario]) or {}
    return [(k, v) for k, v in res.items() if isinstance(v, dict)]


def contender_entries(doc):
    for scenario in ("decode", "ttft", "switch", "standby", "coldcache", "repack", "json_schema"):
        for key, block in _blocks(doc, scenario):
            for name, entry in (block.get("contenders") or {}).items():
                yield f"{scenario}/{key}/{name}", name, entry
    for mid, block in (doc["scenarios"].get("concurrency") or {}).items():
        for n, level in (block.get("levels") or {}).items():
            for name, entry in (level.get("contenders") or {}).items():
                yield f"concurrency/{mid}/{n}/{name}", name, entry
    for mid, block in (doc["scenarios"].get("chat") or {}).items():
        for k, turn in (block.get("turns") or {}).items():
            for name, entry in (turn.get("contenders") or {}).items():
                yield f"chat/{mid}/{k}/{name}", name, entry


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--expect-ok", default="")
    p.add_argument("--expect-missing", default="")
    a = p.parse_args()
    with open(a.results) as f:
        doc = json.load(f)
    ok_names = [n for n in a.expect_ok.split(",") if n]
    problems = validate(doc, ok_names)
    missing_names = [n for n in a.expect_missing.split(",") if n]
    seen = set()
    for where, name, entry in contender_entries(doc):
        for want in missing_names:
            if name == want or name.startswith(want):
                seen.add(want)
                if entry.get("status") != "missing" or not entry.get("reason"):
                    problems.append(f"{where}: expected status missing with a reason")
    problems += [f"no entry marks {n} as missing" for n in missing_names if n not in seen]
    for n in ok_names:
        if not any(name == n for _, name, _ in contender_entries(doc)):
            problems.append(f"contender {n} never appears")
    for prob in problems:
        print(f"check_results: {prob}", file=sys.stderr)
    if not problems:
        print(f"check_results: {a.results}: complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
