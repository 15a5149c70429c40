#!/usr/bin/env python3
"""Soak: a bounded run of bin/modeld under mixed, hostile load (issue 12).

Clients mix the native and OpenAI APIs, streaming and not, over three models
so that switches (and cancel-on-switch) happen all the time; some clients
hang up mid-stream, bursts overflow the queue, SIGHUP arrives, and the model
files are rewritten in place and replaced atomically while they are served.

At the end it asserts that every request ended with a documented status
(docs/api.md) within its deadline, that modeld's open fds are back to their
baseline, that its RSS grew by at most --rss-slack-mb, and that /readyz is
200. Exit 0 on success, 1 on any failure, 2 on a setup error.

Usage: scripts/soak.py [--seconds N (<= 600)] [--bin bin/modeld] [--models models]
"""
import argparse
import collections
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MODELS = ("a", "b", "c")  # a, b: tiny-sized (same size, swappable); c: small
# Statuses and stream-final codes docs/api.md documents for this load.
HTTP_OK = {200, 409, 500, 503}
CODES_BY_STATUS = {409: {"cancelled"}, 500: {"load_failed"}, 503: {"queue_full"}}
STREAM_ERRORS = {"cancelled", "load_failed"}
REGISTRY = """\
max_queue: 6
parallel: 2
default_model: a
models:
  - {{id: a, name: a, quant: x, family: llama, path: {d}/a.gguf, ctx_size: 512}}
  - {{id: b, name: b, quant: x, family: llama, path: {d}/b.gguf, ctx_size: 512}}
  - {{id: c, name: c, quant: x, family: llama, path: {d}/c.gguf, ctx_size: 512}}
"""


class Modeld:
    """The process under test; its JSON log lines are kept for waiting on events."""

    def __init__(self, binary, config):
        self.proc = subprocess.Popen([binary, "--config", config, "--host", "127.0.0.1",
                                      "--port", "0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines, self.cv = [], threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_log(lambda j: j.get("msg") == "listening", 60)
        self.port = line["port"]

    def _read(self):
        for raw in self.proc.stdout:
            try:
                j = json.loads(raw)
            except ValueError:
                j = {"msg": "(not json)", "text": raw.rstrip()}
            with self.cv:
                self.lines.append(j)
                self.cv.notify_all()
        with self.cv:
            self.lines.append({"msg": "(exited)"})
            self.cv.notify_all()

    def wait_log(self, pred, timeout, start=0):
        """The first log line from index `start` on that satisfies pred."""
        end = time.monotonic() + timeout
        with self.cv:
            i = start
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return self.lines[i]
                    if self.lines[i].get("msg") == "(exited)":
                        raise RuntimeError("modeld exited")
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError("timed out waiting for a log line")
                self.cv.wait(left)

    def mark(self):
        with self.cv:
            return len(self.lines)

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def rss(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


def request(port, path, body, timeout):
    """One request read to its end; returns (status, final code or None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        status = r.status
    finally:
        c.close()
    if status != 200:
        return status, json.loads(data)["error"]["code"]
    if not body.get("stream"):
        j = json.loads(data)
        return 200, j["error"]["code"] if "error" in j else None
    return 200, stream_error(data)


def stream_error(data):
    """The error code a finished 200 stream ended with, None when it ended well,
    "truncated" when it has no proper end."""
    lines = [x for x in data.splitlines() if x.strip()]
    if not lines:
        return "truncated"
    if lines[-1] == "data: [DONE]":  # OpenAI: an error is the chunk before [DONE]
        last = json.loads(lines[-2][len("data: "):]) if len(lines) > 1 else {}
        return last["error"]["code"] if "error" in last else None
    for i in range(len(lines) - 1, -1, -1):  # native SSE: "event: done|error" then data
        if lines[i].startswith("event: "):
            ev = lines[i][len("event: "):]
            if ev == "done":
                return None
            if ev == "error":
                return json.loads(lines[i + 1][len("data: "):])["error"]["code"]
            return "truncated"
    j = json.loads(lines[-1])  # ndjson: the last object is done or error
    if j.get("event") == "done" or "usage" in j and "error" not in j:
        return None
    return j["error"]["code"] if "error" in j else "truncated"


def hang_up(port, model, rng):
    """A streaming request whose client leaves after the first bytes."""
    body = json.dumps({"model": model, "prompt": "tell me a story", "max_tokens": 200,
                       "stream": True}).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        s.sendall(b"POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        s.recv(rng.choice((1, 64, 512)))
    finally:
        s.close()


def pick_model(rng):
    """Runs of one favourite model (it moves every few seconds), with strays:
    switches and cancel-on-switch happen, and so do finished requests."""
    if rng.random() < 0.03:
        return rng.choice(MODELS)
    return MODELS[int(time.monotonic() / 4) % len(MODELS)]


def one(port, rng, deadline_s):
    """A random request; returns (kind, status, code)."""
    model = pick_model(rng)
    n = rng.choice((1, 8, 32))
    kind = rng.choice(("infer", "infer-stream", "infer-ndjson", "chat", "chat-stream",
                       "completion", "hangup"))
    if kind == "hangup":
        hang_up(port, model, rng)
        return kind, 0, None
    if kind.startswith("infer"):
        body = {"model": model, "prompt": "hello there", "max_tokens": n,
                "stream": kind != "infer"}
        if kind == "infer-ndjson":
            body["stream"] = True
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=deadline_s)
            try:
                c.request("POST", "/infer", json.dumps(body),
                          {"Content-Type": "application/json", "Accept": "application/x-ndjson"})
                r = c.getresponse()
                data = r.read().decode("utf-8", "replace")
            finally:
                c.close()
            if r.status != 200:
                return kind, r.status, json.loads(data)["error"]["code"]
            return kind, 200, stream_error(data)
        return (kind, *request(port, "/infer", body, deadline_s))
    if kind == "completion":
        body = {"model": model, "prompt": "once upon", "max_tokens": n, "stream": rng.random() < .5}
        return (kind, *request(port, "/v1/completions", body, deadline_s))
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": n,
            "stream": kind == "chat-stream"}
    return (kind, *request(port, "/v1/chat/completions", body, deadline_s))


def client(port, seed, stop_at, deadline_s, results):
    rng = random.Random(seed)
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        try:
            kind, status, code = one(port, rng, deadline_s)
        except Exception as e:  # a timeout or a broken response is a failure
            kind, status, code = "error", -1, f"{type(e).__name__}: {e}"
        results.append((kind, status, code, time.monotonic() - t0))
        if status == 503:
            time.sleep(1)  # Retry-After: 1, as a well-behaved client waits


def burst(port, seed, deadline_s, results):
    """More requests at once than the queue admits: some get queue_full."""
    out = []

    def shot(i):
        t0 = time.monotonic()
        try:
            body = {"model": pick_model(random.Random(seed + i)), "prompt": "x", "max_tokens": 4, "stream": False}
            status, code = request(port, "/infer", body, deadline_s)
        except Exception as e:
            status, code = -1, f"{type(e).__name__}: {e}"
        out.append(("burst", status, code, time.monotonic() - t0))

    threads = [threading.Thread(target=shot, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.extend(out)


def chaos(m, d, src, stop_at, seed, counts):
    """SIGHUP, in-place rewrites and atomic replacements of the served files."""
    rng = random.Random(seed)
    blobs = [open(os.path.join(src, f), "rb").read() for f in ("tiny.gguf", "tiny-b.gguf")]
    while time.monotonic() < stop_at:
        time.sleep(rng.uniform(0.5, 2.0))  # pacing only; nothing waits on it
        what = rng.choice(("sighup", "inplace", "atomic", "burst"))
        target = os.path.join(d, rng.choice(("a.gguf", "b.gguf")))
        if what == "sighup":
            m.proc.send_signal(signal.SIGHUP)
        elif what == "inplace":  # same size, other weights, written over the open file
            with open(target, "r+b") as f:
                f.write(rng.choice(blobs))
        elif what == "atomic":
            tmp = target + ".tmp"
            with open(tmp, "wb") as f:
                f.write(rng.choice(blobs))
            os.replace(tmp, target)
        else:
            burst(m.port, rng.randrange(1 << 30), 120, counts["burst_results"])
        counts[what] += 1


def quiesce(m, model):
    """Loads `model`, then waits for the idle heap trim that follows a switch."""
    mark = m.mark()
    status, code = request(m.port, "/infer", {"model": model, "prompt": "x", "max_tokens": 1,
                                              "stream": False}, 120)
    if (status, code) != (200, None):
        raise RuntimeError(f"quiesce: {status} {code}")
    if any(j.get("msg") == "switch" for j in m.lines[mark:]):
        m.wait_log(lambda j: j.get("msg") == "free memory released", 60, mark)


def settle_fds(m, baseline, timeout):
    """Connections close asynchronously: polls the fd count until it is at most
    `baseline` (a hang guard only) and returns the lowest count seen."""
    end, low = time.monotonic() + timeout, m.fds()
    while low > baseline and time.monotonic() < end:
        time.sleep(0.1)
        low = min(low, m.fds())
    return low


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--seconds", type=int, default=180)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--bin", default=os.path.join(root, "bin", "modeld"))
    ap.add_argument("--models", default=os.path.join(root, "models"))
    ap.add_argument("--deadline", type=float, default=120, help="per request, seconds")
    ap.add_argument("--rss-slack-mb", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not 1 <= a.seconds <= 600:
        ap.error("--seconds must be 1..600 (the soak is bounded to 10 minutes)")
    for f in ("tiny.gguf", "tiny-b.gguf", "small.gguf"):
        if not os.path.isfile(os.path.join(a.models, f)):
            print(f"soak: {a.models}/{f} is missing (scripts/models.sh test)", file=sys.stderr)
            return 2
    d = tempfile.mkdtemp(prefix="modeld-soak-")
    for name, f in (("a", "tiny.gguf"), ("b", "tiny-b.gguf"), ("c", "small.gguf")):
        shutil.copyfile(os.path.join(a.models, f), os.path.join(d, name + ".gguf"))
    with open(os.path.join(d, "models.yaml"), "w") as f:
        f.write(REGISTRY.format(d=d))
    m = Modeld(a.bin, os.path.join(d, "models.yaml"))
    failures = []
    try:
        for model in ("b", "c", "a"):  # every model once, so the heap reaches its size
            quiesce(m, model)
        fd0, rss0 = settle_fds(m, 0, 2), m.rss()  # the lowest within 2 s
        stop_at = time.monotonic() + a.seconds
        results = []
        counts = collections.Counter()
        counts["burst_results"] = []
        threads = [threading.Thread(target=client, args=(m.port, a.seed * 1000 + i, stop_at,
                                                         a.deadline, results))
                   for i in range(a.clients)]
        threads.append(threading.Thread(target=chaos, args=(m, d, a.models, stop_at, a.seed,
                                                            counts)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results += counts.pop("burst_results")
        quiesce(m, "a")
        fd1, rss1 = settle_fds(m, fd0, 30), m.rss()
        ready = http.client.HTTPConnection("127.0.0.1", m.port, timeout=10)
        ready.request("GET", "/readyz")
        ready_status = ready.getresponse().status
        ready.close()

        outcomes = collections.Counter()
        slowest = 0.0
        for kind, status, code, secs in results:
            outcomes[(status, code)] += 1
            slowest = max(slowest, secs)
            documented = (kind == "hangup" or (status == 200 and code in {None} | STREAM_ERRORS)
                          or code in CODES_BY_STATUS.get(status, ()))
            if not documented or secs > a.deadline:
                failures.append(f"{kind}: status {status} code {code} after {secs:.1f} s")
        print(f"soak: {a.seconds} s, {a.clients} clients, {len(results)} requests; "
              f"chaos: {dict(counts)}")
        for (status, code), n in sorted(outcomes.items(), key=lambda x: -x[1]):
            label = "hang-up" if status == 0 else f"{status} {code or 'ok'}"
            print(f"  {label:<24} {n}")
        switches = sum(1 for j in m.lines if j.get("msg") == "switch")
        print(f"  switches {switches}; slowest request {slowest:.1f} s (deadline {a.deadline:.0f} s)")
        print(f"  fds {fd0} -> {fd1}; RSS {rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB "
              f"({(rss1 - rss0) / 2**20:+.1f}); /readyz {ready_status}")
        if fd1 != fd0:
            failures.append(f"open fds {fd1}, baseline {fd0}")
        if rss1 - rss0 > a.rss_slack_mb * 2**20:
            failures.append(f"RSS grew {(rss1 - rss0) / 2**20:.1f} MiB > {a.rss_slack_mb} MiB")
        if ready_status != 200:
            failures.append(f"/readyz {ready_status}")
        if m.proc.poll() is not None:
            failures.append(f"modeld exited with {m.proc.returncode}")
    finally:
        m.proc.terminate()
        try:
            m.proc.wait(30)
        except subprocess.TimeoutExpired:
            m.proc.kill()
            failures.append("modeld did not stop within 30 s of SIGTERM")
        shutil.rmtree(d, ignore_errors=True)
    for f in failures[:20]:
        print(f"soak: FAIL {f}", file=sys.stderr)
    print("soak: " + ("PASS" if not failures else f"FAIL ({len(failures)} problems)"))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
