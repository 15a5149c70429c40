#!/usr/bin/env bash
# Clones the committed HEAD of this repository into a temporary folder and
# runs the README's test command there exactly as CI does (`CI=true bash
# .ci/run`, i.e. `make test` and `make test-asan`), then prints how long it took. Uncommitted and
# untracked files are not part of the clone, so this shows whether a commit
# passes from a fresh clone. `make fresh-check` calls it.
#
#   scripts/fresh-clone-check.sh [--fresh-cache] [--keep] [--timeout S] [REV]
#
#   REV            what to check out (default HEAD)
#   --fresh-cache  also rebuild the pinned llama.cpp in an empty cache
#                  (MODELD_CACHE in the temporary folder; adds many minutes)
#   --keep         keep the clone afterwards (it is kept anyway on failure)
#   --timeout S    give up after S seconds (default 7200)
#
# A fresh clone is not a fresh machine: Debian packages installed here stay
# installed, and by default the llama.cpp cache in ~/.cache/modeld is reused.
set -euo pipefail
root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"

rev=HEAD fresh_cache=0 keep=0 limit=7200
while (($#)); do
  case "$1" in
    --fresh-cache) fresh_cache=1; shift ;;
    --keep) keep=1; shift ;;
    --timeout) limit="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fresh-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *) rev="$1"; shift ;;
  esac
done
[[ "$limit" =~ ^[0-9]+$ ]] || { echo "fresh-check: --timeout takes seconds" >&2; exit 2; }
sha="$(git -C "$root" rev-parse --verify "$rev^{commit}")"
if [[ "$rev" == HEAD && -n "$(git -C "$root" status --porcelain --untracked-files=normal)" ]]; then
  echo "fresh-check: note: the working tree has changes that are not committed;" \
    "they are not part of this check" >&2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/modeld-fresh.XXXXXX")"
dir="$tmp/modeld"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  if ((rc == 0 && !keep)); then
    rm -rf "$tmp"
  else
    echo "fresh-check: the clone is kept in $dir (log: $tmp/make-test.log)" >&2
  fi
}
trap cleanup EXIT

echo "fresh-check: cloning $(git -C "$root" log -1 --format='%h %s' "$sha") into $dir"
git clone --quiet --no-checkout "$root" "$dir"
git -C "$dir" checkout --quiet --detach "$sha"

# Nothing from the caller's make or shell may leak in: a sub-make would take
# BUILD, JOBS, CONFIG and friends from MAKEFLAGS or the environment.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES BUILD JOBS CONFIG HOST PORT \
  MODELD_BIN MODELD_MODELS_DIR MODELD_LLAMA_PREFIX
env=(CI=true)
((fresh_cache)) && env+=(MODELD_CACHE="$tmp/cache")

echo "fresh-check: running 'CI=true bash .ci/run' in $dir (log: $tmp/make-test.log)"
start=$(date +%s)
rc=0
(cd "$dir" && env "${env[@]}" timeout --kill-after=60 "$limit" bash .ci/run) \
  2>&1 | tee "$tmp/make-test.log" || rc=${PIPESTATUS[0]}
secs=$(($(date +%s) - start))
elapsed="$((secs / 60))m$((secs % 60))s"
if ((rc == 124 || rc == 137)); then
  echo "fresh-check: FAIL: make test ran out of time after $elapsed (--timeout $limit)"
elif ((rc != 0)); then
  echo "fresh-check: FAIL: make test exited $rc after $elapsed"
else
  echo "fresh-check: PASS: make test from a fresh clone of ${sha:0:10} took $elapsed"
fi
exit "$rc"
