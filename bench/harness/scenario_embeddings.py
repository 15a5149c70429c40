"""Embeddings (issue 15): inputs/s of POST /v1/embeddings, modeld against
llama-server --embeddings --pooling mean, on the same model file with the
same threads, context and sequences (modeld `parallel: 4`, llama-server
`-np 4 -kvu`). modeld pools with mean too: the generated models declare no
pooling, and mean is modeld's default then.

One round sends the same INPUTS short texts in requests of BATCH inputs,
one request after another on one keep-alive connection (the same client
code for both), and measures

  inputs/s  INPUTS / (first request sent -> last response read)

Each response must hold one vector per input, or the round fails."""

import http.client
import json
import os
import time

from harness.contenders import MeasureError
from harness.context import DECODE_PROMPTS
from harness.procs import ServerError, start_llama_server, start_modeld, write_modeld_config
from harness.runner import Contender, alternate
from harness.util import log, ratio

INPUTS = 64
BATCH = 16
SLOTS = 4


def texts(n):
    """n distinct short texts (the decode prompts, then numbered variants)."""
    out = []
    k = 0
    while len(out) < n:
        out += [f"{p} ({k})" if k else p for p in DECODE_PROMPTS]
        k += 1
    return out[:n]


def embed_round(port, model, inputs, batch):
    """Sends `inputs` in requests of `batch`; returns the round's details."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        t0 = time.perf_counter()
        tokens = 0
        for i in range(0, len(inputs), batch):
            chunk = inputs[i:i + batch]
            body = json.dumps({"model": model, "input": chunk, "encoding_format": "float"})
            conn.request("POST", "/v1/embeddings", body,
                         {"Content-Type": "application/json", "Host": "127.0.0.1"})
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                raise MeasureError(f"HTTP {r.status}: {data[:300]!r}")
            doc = json.loads(data)
            vectors = doc.get("data") or []
            if len(vectors) != len(chunk) or not all(v.get("embedding") for v in vectors):
                raise MeasureError(f"{len(vectors)} vectors for {len(chunk)} inputs")
            tokens += (doc.get("usage") or {}).get("prompt_tokens") or 0
        wall = time.perf_counter() - t0
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise MeasureError(f"{type(e).__name__}: {e}") from e
    finally:
        conn.close()
    return {"inputs": len(inputs), "batch": batch, "prompt_tokens": tokens, "wall_s": wall,
            "inputs_s": len(inputs) / wall}


def run(b):
    """Returns {model: result} for the run's models: one modeld for all of
    them, one llama-server per model."""
    models = b.measured_models()
    config = os.path.join(b.workdir, "embeddings.yaml")
    write_modeld_config(config, {mid: b.models[mid] for mid in models}, b.threads, b.ctx,
                        parallel=SLOTS)
    modeld = start_modeld(b.tools["modeld"], config, b.threads, b.workdir, "modeld-embeddings")
    inputs = texts(INPUTS)
    out = {}
    try:
        for mid in models:
            server, missing = None, b.missing.get("llama-server")
            if b.tool("llama-server"):
                try:
                    server = start_llama_server(
                        b.tool("llama-server"), b.models[mid], b.threads, b.ctx, b.workdir,
                        f"llama-server-embeddings-{mid}", slots=SLOTS,
                        extra=["--embeddings", "--pooling", "mean"])
                except ServerError as e:
                    log(str(e))
                    missing = f"failed to start with --embeddings: {str(e)[:300]}"
            log(f"embeddings: {mid}, {INPUTS} inputs in requests of {BATCH}")
            cs = [Contender("modeld", "inputs/s", "inputs_s",
                            lambda: [embed_round(modeld.port, mid, inputs, BATCH)]),
                  Contender("llama-server", "inputs/s", "inputs_s",
                            lambda: [embed_round(server.port, mid, inputs, BATCH)],
                            missing=missing)]
            try:
                res = alternate(cs, b.reps, b.pause_s)[None]
            finally:
                if server is not None:
                    server.stop()
            out[mid] = {"inputs": INPUTS, "batch": BATCH, "parallel": SLOTS, "pooling": "mean",
                        "contenders": res,
                        "ratios": {"modeld/llama-server": {"inputs_s": ratio(
                            res["modeld"].get("median"), res["llama-server"].get("median"))}}}
    finally:
        modeld.stop()
    return out
