#!/usr/bin/env bash
# Passes when `systemd-analyze verify` reports nothing about deploy/modeld.service.
# The unit's ExecStart binary is not installed here, so a temp copy runs
# /bin/true with the same arguments instead. systemd-analyze comes from the
# Debian package `systemd`, which scripts/setup.sh installs; where it is absent
# the check cannot run, so it fails (a test that cannot check must not pass).
# Usage: tests/check_systemd_unit.sh [unit-file]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
unit="${1:-$root/deploy/modeld.service}"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd_unit: FAIL: systemd-analyze not found, so $unit cannot be verified." >&2
  echo "systemd_unit: it comes from the Debian package 'systemd'; run scripts/setup.sh" >&2
  echo "systemd_unit: (as root) or: sudo apt-get install -y --no-install-recommends systemd" >&2
  exit 1
fi
[[ -r "$unit" ]] || { echo "systemd_unit: cannot read $unit"; exit 1; }
stand_in="$(command -v true)"

# LimitNOFILE must leave room above the connection cap: at least
# --max-connections (from ExecStart, else modeld's default 256, see
# internal/httpapi/http_types.h) plus 256 descriptors for models and the rest.
nofile="$(sed -nE 's/^LimitNOFILE=([0-9]+)(:[0-9]+)?$/\1/p' "$unit" | tail -n 1)"
[[ -n "$nofile" ]] || { echo "systemd_unit: FAIL: no numeric LimitNOFILE= in $unit"; exit 1; }
max_conn="$(grep -E '^ExecStart=' "$unit" | grep -oE -- '--max-connections[= ]+[0-9]+' | grep -oE '[0-9]+$' || true)"
max_conn="${max_conn:-256}"
if (( nofile < max_conn + 256 )); then
  echo "systemd_unit: FAIL: LimitNOFILE=$nofile leaves too little room above --max-connections $max_conn"
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
name="$(basename "$unit")"
sed -E "s#^(ExecStart=[-@:+!]*)[^ ]+#\\1$stand_in#" "$unit" > "$tmp/$name"
grep -q "^ExecStart=.*$stand_in" "$tmp/$name" || { echo "systemd_unit: no ExecStart= in $unit"; exit 1; }

# verify exits 0 on many problems it only warns about (unknown keys, bad
# values), so any line naming the unit counts as a failure.
rc=0
out="$(systemd-analyze verify --man=no "$tmp/$name" 2>&1)" || rc=$?
[[ -n "$out" ]] && echo "$out"
if [[ $rc -ne 0 ]] || grep -qF "$name" <<<"$out"; then
  echo "systemd_unit: FAIL: systemd-analyze verify reported problems in $unit (exit $rc)"
  exit 1
fi
echo "systemd_unit: $unit passes systemd-analyze verify"
