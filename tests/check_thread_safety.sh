#!/usr/bin/env bash
# Clang's thread-safety analysis over every source that uses modeld's
# annotated mutex (internal/sync/mutex.h), as a syntax-only pass, so the GCC
# build that CI runs is checked too. Usage: check_thread_safety.sh SOURCE_DIR LLAMA_INCLUDE
set -euo pipefail
src="$1"; llama_inc="$2"
cxx=$(command -v clang++ || true)
[[ -n "$cxx" ]] || { echo "thread_safety: clang++ is missing (scripts/setup.sh installs clang)" >&2; exit 1; }
cd "$src"
# Sources that name the annotations, and the .cpp files of headers that do.
mapfile -t files < <(
  { grep -rlE 'GUARDED_BY|REQUIRES\(|sync::Mutex' --include='*.cpp' internal cmd
    grep -rlE 'GUARDED_BY|REQUIRES\(|sync::Mutex' --include='*.h' internal cmd |
      sed 's/\.h$/.cpp/' | while read -r f; do [[ -f "$f" ]] && echo "$f"; done
  } | sort -u)
((${#files[@]})) || { echo "thread_safety: no annotated sources found" >&2; exit 1; }
fail=0
for f in "${files[@]}"; do
  if ! "$cxx" -std=c++20 -fsyntax-only -Wthread-safety -Werror -I. -isystem "$llama_inc" \
       -DBOOST_BEAST_USE_STD_STRING_VIEW -DBOOST_ASIO_NO_DEPRECATED "$f"; then
    fail=1
  fi
done
echo "thread_safety: ${#files[@]} sources checked by $("$cxx" --version | head -1)"
exit $fail
