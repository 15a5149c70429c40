#!/usr/bin/env bash
# HTTP semantics with a real client: curl against the real bin/modeld on the
# test model tiny. HTTP/1.0 streaming ends, Expect: 100-continue is answered,
# chunked uploads work, an oversized upload gets its 413 (not a reset), HEAD
# and 405, and a keep-alive connection is reused after a stream. Every curl
# call has --max-time, so nothing can hang.
# Usage: tests/http_curl.sh <modeld binary> <models dir>
set -euo pipefail
bin="$1"
models="$2"
[[ -f "$models/tiny.gguf" ]] || { echo "http_curl: $models/tiny.gguf missing (scripts/models.sh test)"; exit 1; }
command -v curl >/dev/null || { echo "http_curl: FAIL: curl not found"; exit 1; }

tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
cat >"$tmp/models.yaml" <<YAML
default_model: tiny
max_body_bytes: 65536
models:
  - id: tiny
    name: Tiny
    path: $models/tiny.gguf
    quant: f16
    family: llama
YAML
"$bin" --config "$tmp/models.yaml" --host 127.0.0.1 --port 0 --threads 1 2>"$tmp/log" &
pid=$!

port=""
for _ in $(seq 1 300); do  # up to 30 s for the "listening" line
  port="$(grep -o '"msg":"listening".*' "$tmp/log" | grep -o '"port":[0-9]*' | head -1 | cut -d: -f2 || true)"
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "http_curl: modeld did not start"; cat "$tmp/log"; exit 1; }
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/readyz")" == 200 ]] && break
  sleep 0.1
done

fails=0
check() {  # check <name> <command...>: runs it, reports
  local name="$1"
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
body='{"prompt":"Hello","max_tokens":8,"temperature":0}'

http10_stream() {
  curl -sS -H "Content-Type: application/json" -0 -N --max-time 30 -H 'Connection: keep-alive' -d "$body" "$base/infer" >"$tmp/out" &&
    grep -q '^event: done' "$tmp/out"
}
expect_continue() {
  # curl would wait --expect100-timeout (30 s) for an answer before sending the body.
  curl -sS -H "Content-Type: application/json" -v -N --max-time 60 --expect100-timeout 30 -H 'Expect: 100-continue' \
    -d "$body" "$base/infer" >"$tmp/out" 2>"$tmp/err" &&
    grep -q '^< HTTP/1.1 100 Continue' "$tmp/err" && grep -q '^event: done' "$tmp/out"
}
chunked_upload() {
  printf '%s' "$body" | curl -sS -H "Content-Type: application/json" -N --max-time 30 -H 'Transfer-Encoding: chunked' \
    --data-binary @- "$base/infer" >"$tmp/out" && grep -q '^event: done' "$tmp/out"
}
too_large() {
  head -c 2000000 /dev/zero | tr '\0' 'a' >"$tmp/big"
  local code
  code="$(curl -sS -H "Content-Type: application/json" --max-time 30 -H 'Expect:' --data-binary @"$tmp/big" -o "$tmp/out" \
    -w '%{http_code}' "$base/infer")" && [[ "$code" == 413 ]] && grep -q payload_too_large "$tmp/out"
}
head_request() {
  curl -sS -I --max-time 10 "$base/healthz" >"$tmp/out" &&
    grep -qi '^HTTP/1.1 200' "$tmp/out" && grep -qi '^content-length: 15' "$tmp/out"
}
wrong_method() {
  local code
  code="$(curl -sS -X PUT --max-time 10 -D "$tmp/headers" -o /dev/null -w '%{http_code}' \
    "$base/healthz")" && [[ "$code" == 405 ]] && grep -qi '^allow: GET, HEAD' "$tmp/headers"
}
reuse_after_stream() {
  curl -sS -H "Content-Type: application/json" -v -N --max-time 30 -d "$body" "$base/infer" --next --max-time 30 "$base/healthz" \
    >"$tmp/out" 2>"$tmp/err" &&
    grep -q '^event: done' "$tmp/out" && grep -q '{"status":"ok"}' "$tmp/out" &&
    grep -qi 're-using existing connection' "$tmp/err"
}

check "HTTP/1.0 keep-alive stream ends" http10_stream
check "Expect: 100-continue is answered" expect_continue
check "chunked request body" chunked_upload
check "oversized upload gets 413, not a reset" too_large
check "HEAD /healthz" head_request
check "PUT /healthz is 405 with Allow" wrong_method
check "keep-alive connection reused after a stream" reuse_after_stream

if ((fails > 0)); then
  echo "http_curl: $fails check(s) failed; modeld log:"
  tail -n 40 "$tmp/log"
  exit 1
fi
echo "http_curl: all checks passed"
