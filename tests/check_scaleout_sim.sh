#!/usr/bin/env bash
# CTest scaleout_sim: scripts/scaleout_sim.py runs and prints its table:
# a header with the three routers and one row per scenario with a switch
# rate (0..1000) and a mean wait per router. Same seed, same output.
set -euo pipefail
sim="$1/scripts/scaleout_sim.py"
out=$(python3 "$sim" --requests 2000 --scenario 2,4,1.0 --scenario 4,4,1.0)
echo "$out"
grep -qx '| replicas | models | zipf s | random | round-robin | affinity |' <<<"$out"
rows=$(grep -cE '^\| [0-9]+ \| [0-9]+ \| [0-9.]+ \|( [0-9]+ \([0-9.]+\) \|){3}$' <<<"$out")
[[ $rows == 2 ]] || { echo "expected 2 data rows, got $rows"; exit 1; }
# Every switch rate is a per-1,000 figure.
while read -r rate; do
  ((rate >= 0 && rate <= 1000)) || { echo "rate out of range: $rate"; exit 1; }
done < <(grep -oE '\| [0-9]+ \(' <<<"$out" | tr -dc '0-9\n')
# Deterministic for a seed.
[[ $(python3 "$sim" --requests 2000 --scenario 2,4,1.0 --scenario 4,4,1.0) == "$out" ]]
echo "scaleout_sim: ok"
