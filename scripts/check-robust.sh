#!/usr/bin/env bash
# Runs the unit tests repeatedly, first on an idle machine, then starved: the
# tests pinned to one core while busy processes compete for that core. A test
# that depends on machine speed or on sleeps to order events tends to fail in
# one of the two. `make check-robust` builds first and then calls this.
#
#   scripts/check-robust.sh [--repeat N] [--label L | --all] [--regex R]
#                           [--cpu C] [--hogs H] [--timeout S]
#                           [--only idle|starved] [--build DIR]
#
#   --repeat N    run each test up to N times, stopping at its first failure
#                 (ctest --repeat until-fail:N); default 3 (env REPEAT)
#   --label L     CTest label to run (default unit; blackbox, e2e, bench exist)
#   --all         every CTest test, whatever its label
#   --regex R     only tests whose name matches R (ctest -R)
#   --cpu C       the core for the starved run (default: the first one this
#                 process may use)
#   --hogs H      busy processes (`yes`) on that core (default 1)
#   --timeout S   limit for each of the two runs, in seconds (default 1800);
#                 each test also has a 300 s limit
#   --only P      run only the idle or only the starved phase
#   --build DIR   the CMake build folder (default $BUILD or build)
#
# Exits 0 when every run of every test passed, 1 when one failed or a phase
# ran out of time, 2 on bad usage or a missing build. Logs: DIR/check-robust/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

repeat="${REPEAT:-3}" label=unit regex="" cpu="" hogs=1 phase_timeout=1800 only=""
build="${BUILD:-build}"
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --label) label="$2"; shift 2 ;;
    --all) label=""; shift ;;
    --regex) regex="$2"; shift 2 ;;
    --cpu) cpu="$2"; shift 2 ;;
    --hogs) hogs="$2"; shift 2 ;;
    --timeout) phase_timeout="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "check-robust: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$repeat" "$hogs" "$phase_timeout"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "check-robust: '$n' is not a number" >&2; exit 2; }
done
((repeat >= 1)) || { echo "check-robust: --repeat must be at least 1" >&2; exit 2; }
[[ -z "$only" || "$only" == idle || "$only" == starved ]] ||
  { echo "check-robust: --only takes idle or starved" >&2; exit 2; }
for tool in ctest taskset timeout yes; do
  command -v "$tool" >/dev/null || { echo "check-robust: $tool not found" >&2; exit 2; }
done
[[ "$build" = /* ]] || build="$root/$build"
if [[ ! -f "$build/CTestTestfile.cmake" ]]; then
  echo "check-robust: no CTest build in $build; run 'make build' (or 'make check-robust')" >&2
  exit 2
fi

# The core for the starved phase: the first one this process may run on.
if [[ -z "$cpu" ]]; then
  allowed="$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)"
  cpu="${allowed%%[,-]*}"
  cpu="${cpu:-0}"
fi

select=()
[[ -n "$label" ]] && select+=(-L "^${label}\$")
[[ -n "$regex" ]] && select+=(-R "$regex")
# A selection that matches nothing would "pass": refuse it.
count="$(ctest --test-dir "$build" -N "${select[@]}" | awk '/^Total Tests:/ {print $3}')"
if [[ -z "$count" || "$count" == 0 ]]; then
  echo "check-robust: no tests match (${select[*]:-all}) in $build; is the build complete?" >&2
  exit 2
fi

logs="$build/check-robust"
mkdir -p "$logs"
hog_pids=()
phase_pid=""
stop_hogs() {
  local pid
  for pid in "${hog_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${hog_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  hog_pids=()
}
# On Ctrl-C or TERM: stop the running phase (timeout passes the signal on to
# ctest and its tests), then the busy processes.
interrupted() {
  if [[ -n "$phase_pid" ]]; then
    kill -TERM "$phase_pid" 2>/dev/null || true
    wait "$phase_pid" 2>/dev/null || true
  fi
  stop_hogs
  echo "check-robust: interrupted" >&2
  exit "$1"
}
trap stop_hogs EXIT
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

summary=()
failed=0
# run_phase NAME DESCRIPTION [PREFIX...]: ctest over the selection, N times.
run_phase() {
  local name="$1" what="$2"; shift 2
  local log="$logs/$name.log" rc=0 start=$SECONDS
  echo "check-robust: $name: $count tests x up to $repeat, $what;" \
    "load average $(cut -d' ' -f1 /proc/loadavg) (log: $log)"
  # In the background and waited for, so that the traps run at once.
  "$@" timeout --kill-after=30 "$phase_timeout" \
    ctest --test-dir "$build" "${select[@]}" --repeat "until-fail:$repeat" \
      --timeout 300 --output-on-failure -j1 >"$log" 2>&1 &
  phase_pid=$!
  wait "$phase_pid" || rc=$?
  phase_pid=""
  local secs=$((SECONDS - start)) line
  line="$(grep -E '^[0-9]+% tests passed' "$log" | tail -n1 || true)"
  if ((rc == 0)); then
    summary+=("PASS  $name ($what): ${line:-no ctest summary} in ${secs}s")
    return
  fi
  failed=1
  if ((rc == 124 || rc == 137)); then
    summary+=("FAIL  $name ($what): ran out of time after ${secs}s (--timeout $phase_timeout)")
  else
    summary+=("FAIL  $name ($what): ${line:-ctest exited $rc} in ${secs}s")
  fi
  # ctest lists the failed tests after "The following tests FAILED:".
  while IFS= read -r t; do summary+=("        $t"); done < <(
    sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ' |
      sed 's/^[[:space:]]*//' || true)
  echo "check-robust: $name failed; the end of its log:" >&2
  tail -n 40 "$log" >&2
}

if [[ "$only" != starved ]]; then
  run_phase idle "idle machine, all cores"
fi
if [[ "$only" != idle ]]; then
  for ((i = 0; i < hogs; i++)); do
    taskset -c "$cpu" yes >/dev/null &
    hog_pids+=($!)
  done
  run_phase starved "pinned to cpu $cpu with $hogs busy process(es) on it" taskset -c "$cpu"
  stop_hogs
fi

echo
echo "check-robust: summary (ctest ${select[*]:-all tests}, repeat until-fail:$repeat)"
printf '  %s\n' "${summary[@]}"
if ((failed)); then
  echo "check-robust: FAIL (logs in $logs)"
  exit 1
fi
echo "check-robust: PASS"
