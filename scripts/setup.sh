#!/usr/bin/env bash
# Idempotent setup: Debian packages, then the pinned llama.cpp static libraries
# in a cache outside the clone. Every step is skipped when its result exists.
#
#   scripts/setup.sh            packages + llama.cpp libraries
#   scripts/setup.sh --tools    also llama-bench and llama-server (for make bench)
#   scripts/setup.sh --fuzz     also clang-16 with libFuzzer (for make fuzz)
#
# Environment:
#   MODELD_CACHE      cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/modeld)
#   MODELD_CUDA=1     build llama.cpp with GGML_CUDA=ON
#   MODELD_LLAMA_PREFIX  use this llama.cpp install instead (nothing is built)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=llama-pin.env
source "$here/llama-pin.env"
with_tools=0
with_fuzz=0
for arg in "$@"; do
  case "$arg" in
    --tools) with_tools=1 ;;
    --fuzz) with_fuzz=1 ;;
  esac
done

log() { printf 'setup: %s\n' "$*" >&2; }
# Runs a command with its output in a log file; shows the log's tail on failure.
quiet() {
  local logf="$1"; shift
  mkdir -p "$(dirname "$logf")"
  if ! "$@" >>"$logf" 2>&1; then
    tail -n 40 "$logf" >&2; log "failed: $* (full log: $logf)"; exit 1
  fi
}

# ---- 1. Debian packages ------------------------------------------------------
# Everything `make test` uses, so that it passes on a fresh machine: the tests
# fail (they do not skip) when one of these tools is missing.
#   python3      bench/run_bench.py (CTest bench_harness)
#   gnuplot-nox  bench_harness checks latest.png, which gnuplot draws
#   systemd      systemd-analyze for CTest systemd_unit (tests/check_systemd_unit.sh)
#   nodejs, npm  CTest e2e_openai_sdk (tests/e2e)
#   clang        CTest thread_safety: clang's -Wthread-safety over annotated sources
#   chromium     CTest e2e_openai_sdk: tests/e2e/web_page.test.js drives the
#                status page in headless Chromium with puppeteer-core
#   prometheus   prometheus and promtool for the black-box PrometheusTest
#                (a real scrape of /metrics; its systemd service is not used)
#   kubernetes-client, python3-yaml  CTest k8s_manifests (kubectl kustomize
#                and tests/check_k8s.py); any kubectl on PATH will do
pkgs=(build-essential cmake git pkg-config ca-certificates
  libyaml-cpp-dev nlohmann-json3-dev libboost-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format clang-tidy ccache nodejs npm curl
  python3 gnuplot-nox systemd clang chromium prometheus kubernetes-client python3-yaml)
# make bench only: callgrind's instruction counts (scenario pertoken; without
# valgrind they are reported as missing).
[[ $with_tools == 1 ]] && pkgs+=(valgrind)
# make fuzz only: clang-16 and its runtime, which holds libFuzzer and the
# sanitizers (docs/fuzzing.md); make build and make test never need them.
[[ $with_fuzz == 1 ]] && pkgs+=(clang-16 libclang-rt-16-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node/npm may come from elsewhere than Debian; only the commands matter.
if command -v npm >/dev/null && command -v node >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
command -v kubectl >/dev/null && missing=("${missing[@]/kubernetes-client/}")
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "missing Debian packages; run:"
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
fi

# ---- 2. pinned llama.cpp -----------------------------------------------------
if [[ -n "${MODELD_LLAMA_PREFIX:-}" ]]; then
  log "using llama.cpp from MODELD_LLAMA_PREFIX=$MODELD_LLAMA_PREFIX"
  echo "$MODELD_LLAMA_PREFIX"
  exit 0
fi
cache="${MODELD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modeld}"
cuda=OFF; [[ "${MODELD_CUDA:-0}" == 1 ]] && cuda=ON
march=$(gcc -march=native -Q --help=target 2>/dev/null | awk '/^ +-march=/{m=$2} END{print m}' || true)
# Patches applied on top of the pinned source (scripts/llama-patches/README.md).
# Their hash is part of the key, so changing one makes a new build.
shopt -s nullglob
patches=("$here"/llama-patches/*.patch)
shopt -u nullglob
phash=none
((${#patches[@]})) && phash="$(cat "${patches[@]}" | sha256sum | cut -c1-10)"
flags="Release;GGML_NATIVE=ON;GGML_CUDA=$cuda;GGML_OPENMP=OFF;BUILD_SHARED_LIBS=OFF;march=${march:-unknown};patches=$phash"
key="$(printf '%s' "$flags" | sha256sum | cut -c1-10)"
prefix="$cache/llama-$LLAMA_TAG-$key"
src="$cache/src/llama.cpp-$LLAMA_TAG"
mkdir -p "$cache/src"

# The source folder holds the pinned commit with exactly this patch set; its
# marker names both, so a folder with other patches is made again. Patching
# in place keeps the source path, and so ccache's entries, the same.
source_id="$LLAMA_COMMIT patches=$phash"
fetch_source() {
  [[ -f "$src/.modeld-verified" && "$(cat "$src/.modeld-verified")" == "$source_id" ]] && return
  local tgz="$cache/src/$LLAMA_NPM_PACKAGE-$LLAMA_NPM_VERSION.tgz"
  if [[ ! -f "$tgz" ]]; then
    log "npm pack $LLAMA_NPM_PACKAGE@$LLAMA_NPM_VERSION"
    (cd "$cache/src" && npm pack --silent "$LLAMA_NPM_PACKAGE@$LLAMA_NPM_VERSION" >/dev/null)
  fi
  local got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [[ "$got" != "$LLAMA_NPM_INTEGRITY" ]]; then
    rm -f "$tgz"
    log "integrity mismatch for $tgz: got $got"; exit 1
  fi
  local tmp; tmp=$(mktemp -d)
  tar -xzf "$tgz" -C "$tmp" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
  local tag; tag=$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' "$tmp/package/llama/llama.cpp.info.json")
  [[ "$tag" == "$LLAMA_TAG" ]] || { log "bundle tag is '$tag', expected $LLAMA_TAG"; exit 1; }
  rm -rf "$src"
  git clone -q "$tmp/package/llama/gitRelease.bundle" "$src" 2>/dev/null
  local head; head=$(git -C "$src" rev-parse HEAD)
  [[ "$head" == "$LLAMA_COMMIT" ]] || { log "bundle commit $head, expected $LLAMA_COMMIT"; exit 1; }
  rm -rf "$tmp"
  local p
  for p in "${patches[@]}"; do
    git -C "$src" apply "$p" || { log "patch $p does not apply to $LLAMA_COMMIT"; exit 1; }
    log "applied $(basename "$p")"
  done
  printf '%s\n' "$source_id" >"$src/.modeld-verified"
}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
common=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DGGML_CUDA=$cuda
  -DGGML_OPENMP=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF "${launcher[@]}")

if [[ ! -f "$prefix/.modeld-complete" ]]; then
  fetch_source
  log "building llama.cpp $LLAMA_TAG static libs ($flags) -> $prefix (several minutes)"
  bdir="$cache/build/lib-$key"
  quiet "$cache/build/lib-$key.log" cmake -S "$src" -B "$bdir" -DCMAKE_INSTALL_PREFIX="$prefix" \
    "${common[@]}" -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_COMMON=OFF
  quiet "$cache/build/lib-$key.log" cmake --build "$bdir" -j"$(nproc)"
  quiet "$cache/build/lib-$key.log" cmake --install "$bdir"
  printf '%s\n%s\n' "$LLAMA_TAG $LLAMA_COMMIT" "$flags" >"$prefix/.modeld-complete"
  rm -rf "$bdir"
fi

# The tools' build folder (common, llama-bench, llama-server): same source
# and flags as the libraries, so it shares their ccache entries.
tdir="$cache/build/tools-$key"
configure_tools() {
  quiet "$cache/build/tools-$key.log" cmake -S "$src" -B "$tdir" "${common[@]}" \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_COMMON=ON
}

# ---- 3. llama.cpp's common library -------------------------------------------
# Chat templates (Jinja), tool-call parsing and JSON-schema-to-grammar
# (docs/decisions.md). Added to the same prefix without changing its key, so
# a prefix made before this step gains the library and nothing else is
# rebuilt. Its headers go to include/llama-common/; they include only
# llama.h and the standard library (common_json hides its nlohmann copy), so
# modeld's own nlohmann_json is not shadowed. No libcurl: this llama.cpp has
# no LLAMA_CURL, and LLAMA_OPENSSL=OFF keeps the HTTP client plain.
if [[ ! -f "$prefix/lib/libllama-common.a" ]]; then
  fetch_source
  log "building llama.cpp's common library -> $prefix"
  configure_tools
  quiet "$cache/build/tools-$key.log" cmake --build "$tdir" -j"$(nproc)" \
    --target llama-common llama-common-base
  inc="$prefix/include/llama-common"
  mkdir -p "$inc/jinja"
  cp "$src"/common/*.h "$src"/common/*.hpp "$inc/"
  cp "$src"/common/jinja/*.h "$inc/jinja/"
  cp "$tdir/common/libllama-common-base.a" "$prefix/lib/"
  # Last: its presence marks the step complete.
  cp "$tdir/common/libllama-common.a" "$prefix/lib/libllama-common.a.tmp"
  mv "$prefix/lib/libllama-common.a.tmp" "$prefix/lib/libllama-common.a"
fi

if [[ $with_tools == 1 && ! -x "$prefix/bin/llama-server" ]]; then
  fetch_source
  log "building llama-bench and llama-server from the same source and flags"
  configure_tools
  quiet "$cache/build/tools-$key.log" cmake --build "$tdir" -j"$(nproc)" --target llama-bench llama-server
  mkdir -p "$prefix/bin"
  cp "$tdir/bin/llama-bench" "$tdir/bin/llama-server" "$prefix/bin/"
fi
echo "$prefix"
