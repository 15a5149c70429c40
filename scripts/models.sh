#!/usr/bin/env bash
# Generates the GGUF models modeld's demo config and tests use, into models/.
# Existing files are kept. Usage: scripts/models.sh [demo] [test] [1b]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mk="$root/bin/modeld-mkmodel"
out="${MODELD_MODELS_DIR:-$root/models}"
mkdir -p "$out"
gen() {  # file preset seed [more modeld-mkmodel flags]
  local f="$out/$1"
  [[ -s "$f" ]] && return
  echo "models: generating $1 (preset $2)" >&2
  "$mk" --preset "$2" --seed "$3" --name "${1%.gguf}" --out "$f.tmp" "${@:4}"
  mv "$f.tmp" "$f"
}
sets=("$@")
((${#sets[@]})) || sets=(demo test)
for what in "${sets[@]}"; do
  case "$what" in
    demo) gen tiny.gguf tiny 1; gen small.gguf small 2 ;;
    # embed.gguf: a tiny model that declares mean pooling (the embeddings tests).
    test) gen tiny.gguf tiny 1; gen tiny-b.gguf tiny 3; gen small.gguf small 2
      gen embed.gguf tiny 5 --pooling mean ;;
    1b) gen 1b.gguf 1b 4 ;;
    *) echo "models: unknown set '$what'" >&2; exit 2 ;;
  esac
done
