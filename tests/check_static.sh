#!/usr/bin/env bash
# Passes when the binary links only the glibc family dynamically.
set -euo pipefail
bin="$1"
libs=$(ldd "$bin" | awk '{print $1}')
echo "$libs"
bad=$(echo "$libs" | grep -Ev '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux-aarch64\.so\.1|lib(c|m|pthread|dl|rt)\.so\.[0-9]+)$' || true)
if [[ -n "$bad" ]]; then
  echo "non-glibc dynamic dependencies:"; echo "$bad"; exit 1
fi
echo "static_binary: only glibc libraries"
