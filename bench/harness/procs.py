"""Starting and stopping the servers under test, and running the tools."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

from harness.util import free_port, log


class ServerError(RuntimeError):
    pass


class Server:
    """A server process we started; stopped by its own id (and its process
    group, for the router's children), never by name."""

    def __init__(self, name, argv, logfile, env=None):
        self.name = name
        self.argv = argv
        self.logfile = logfile
        self.port = None
        self._log = open(logfile, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def log_tail(self, n=20):
        try:
            with open(self.logfile, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    def check_alive(self):
        if self.proc.poll() is not None:
            raise ServerError(f"{self.name} exited with {self.proc.returncode}:\n"
                              f"{self.log_tail()}")

    def wait_http_ok(self, path, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                            timeout=2) as r:
                    if r.status == 200:
                        return json.loads(r.read() or b"{}")
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise ServerError(f"{self.name}: {path} not ready after {timeout}s:\n{self.log_tail()}")

    def rss(self):
        """VmRSS, RssAnon, RssFile and VmHWM in kB from /proc/<pid>/status."""
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                    out[key] = int(value.split()[0])
        return out

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop on SIGTERM; killing it")
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._log.close()


def write_modeld_config(path, models, threads, ctx, parallel=None):
    """A registry with one entry per model, the same threads and context;
    `parallel` (requests decoded together) when given, else modeld's default."""
    lines = ["models:"]
    for mid, mpath in models.items():
        lines += [f"  - id: {mid}", f"    name: {mid}", f"    path: {mpath}",
                  "    quant: bench", "    family: llama", f"    ctx_size: {ctx}",
                  f"    threads: {threads}"]
        if parallel is not None:
            lines.append(f"    parallel: {parallel}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def start_modeld(binary, config, threads, workdir, tag="modeld"):
    logfile = os.path.join(workdir, f"{tag}.log")
    srv = Server(tag, [binary, "--config", config, "--host", "127.0.0.1", "--port", "0",
                       "--threads", str(threads)], logfile)
    deadline = time.monotonic() + 30
    while srv.port is None:
        srv.check_alive()
        if time.monotonic() > deadline:
            srv.stop()
            raise ServerError(f"modeld did not report its port:\n{srv.log_tail()}")
        m = re.search(rb'"msg":"listening".*?"port":(\d+)', open(logfile, "rb").read())
        if m:
            srv.port = int(m.group(1))
        else:
            time.sleep(0.05)
    srv.wait_http_ok("/healthz", 30)
    return srv


def llama_server_args(threads, ctx, slots=1):
    """Flags shared by single-model and router llama-server: the same
    threads and context as modeld, one slot. Several slots (requests decoded
    together) share one unified KV cache of `ctx` cells (-kvu), as modeld's
    `parallel` sequences share its context."""
    slot_args = ["-np", str(slots)] + (["-kvu"] if slots > 1 else [])
    return ["-t", str(threads), "-tb", str(threads), "-c", str(ctx)] + slot_args + \
        ["--host", "127.0.0.1", "--no-webui"]


def start_llama_server(binary, model_path, threads, ctx, workdir, tag, slots=1):
    port = free_port()
    argv = [binary, "-m", model_path, "--port", str(port)] + \
        llama_server_args(threads, ctx, slots)
    srv = Server(tag, argv, os.path.join(workdir, f"{tag}.log"))
    srv.port = port
    try:
        srv.wait_http_ok("/health", 120)
    except ServerError:
        srv.stop()
        raise
    return srv


def start_router(binary, models_dir, threads, ctx, workdir, logname="router.log"):
    port = free_port()
    argv = [binary, "--models-dir", models_dir, "--models-max", "1", "--port", str(port)]
    argv += llama_server_args(threads, ctx)
    srv = Server("llama-server-router", argv, os.path.join(workdir, logname))
    srv.port = port
    try:
        srv.wait_http_ok("/health", 60)
        srv.models = srv.wait_http_ok("/models", 30)
    except ServerError:
        srv.stop()
        raise
    return srv


def run_tool(argv, timeout):
    """Runs a tool to completion; returns (returncode, stdout, stderr)."""
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        return 124, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
    return p.returncode, p.stdout, p.stderr
