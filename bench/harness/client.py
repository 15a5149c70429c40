"""A minimal streaming HTTP client that timestamps token events as they
arrive. It reads the raw socket (no per-line parsing while streaming) so the
client costs the server under test as little CPU as possible."""

import json
import socket
import threading
import time

# Bytes that start one token event in each wire format.
MARKERS = {
    "sse": b"event: token\n",
    "ndjson": b'{"type":"token"',
    "llama": b'"stop":false',
    # OpenAI chat chunks with text: modeld and llama-server both write
    # "delta":{"content":"..."} with no spaces and never an empty content here
    # (modeld's role chunk is {"role":...,"content":""}, llama-server's first
    # chunk has "content":null).
    "chat": b'"delta":{"content":"',
}


class StreamResult:
    def __init__(self):
        self.status = None
        self.t_send = None
        self.t_first = None   # arrival of the first token event
        self.t_last = None    # arrival of the last token event
        self.t_end = None
        self.token_events = 0
        self.arrivals = []    # (time, token events) of each read that had some
        self.body = b""
        self.error = None

    @property
    def ttft_ms(self):
        return None if self.t_first is None else (self.t_first - self.t_send) * 1e3


def _dechunk(data):
    out, pos = bytearray(), 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            break
        size = int(data[pos:eol].split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[eol + 2:eol + 2 + size]
        pos = eol + 2 + size + 2
    return bytes(out)


def stream(port, path, body, marker, headers=None, timeout=600, gate=None):
    """POSTs `body` as JSON and reads the response to its end. `gate`, when
    given, is called once connected and before sending (e.g. a barrier that
    releases several clients at once)."""
    r = StreamResult()
    payload = json.dumps(body).encode()
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
            f"Content-Length: {len(payload)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        pos = 0
        if gate is not None:
            gate()
        r.t_send = time.perf_counter()
        sock.sendall(request)
        while True:
            data = sock.recv(1 << 16)
            now = time.perf_counter()
            if not data:
                break
            buf += data
            found = 0
            while True:
                i = buf.find(marker, pos)
                if i < 0:
                    break
                found += 1
                pos = i + len(marker)
            if found:
                r.token_events += found
                r.arrivals.append((now, found))
                r.t_last = now
                if r.t_first is None:
                    r.t_first = now
            if buf.endswith(b"\r\n0\r\n\r\n"):
                break  # the last chunk of a chunked body
        r.t_end = time.perf_counter()
    except (OSError, threading.BrokenBarrierError) as e:
        r.error = f"socket: {e}"
        return r
    finally:
        sock.close()
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        r.error = "no HTTP response"
        return r
    head_lines = bytes(buf[:head_end]).decode(errors="replace").split("\r\n")
    r.status = int(head_lines[0].split()[1])
    raw = bytes(buf[head_end + 4:])
    chunked = any(h.lower().startswith("transfer-encoding:") and "chunked" in h.lower()
                  for h in head_lines[1:])
    r.body = _dechunk(raw) if chunked else raw
    return r


def sse_events(body):
    """[(event, data_json)] of a text/event-stream body."""
    out = []
    for block in body.decode(errors="replace").split("\n\n"):
        event, data = "message", None
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        if data is not None:
            try:
                out.append((event, json.loads(data)))
            except ValueError:
                out.append((event, {"unparsed": data}))
    return out


def ndjson_events(body):
    out = []
    for line in body.decode(errors="replace").splitlines():
        if line.strip():
            obj = json.loads(line)
            out.append((obj.get("type", "?"), obj))
    return out


def final_event(r, kind):
    """The closing object: modeld's done/error event, llama-server's stop
    chunk, or an OpenAI chat stream's usage chunk. Returns (name, object) or
    (None, None)."""
    if kind == "chat":
        for _, data in reversed(sse_events(r.body)):
            if "error" in data:
                return "error", data
            if isinstance(data.get("usage"), dict):
                return "done", data
        return _http_error(r)
    if kind == "ndjson":
        events = ndjson_events(r.body)
    else:
        events = sse_events(r.body)
    if kind == "llama":
        for _, data in reversed(events):
            if data.get("stop") is True or "error" in data:
                return ("error" if "error" in data else "done"), data
        return _http_error(r)
    for name, data in reversed(events):
        if name in ("done", "error"):
            return name, data
    return _http_error(r)


def _http_error(r):
    """("error", body) for a non-200 answer, else (None, None)."""
    if r.status and r.status != 200:
        try:
            return "error", json.loads(r.body)
        except ValueError:
            return "error", {"error": r.body[:200].decode(errors="replace")}
    return None, None
