"""Starting and stopping the servers under test, and running the tools."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

from harness.util import free_port, log

HUGETLB = "glibc.malloc.hugetlb"


class ServerError(RuntimeError):
    pass


def hugetlb_env(base=None):
    """`base` (default: our environment) with GLIBC_TUNABLES asking glibc's
    malloc for transparent huge pages (glibc.malloc.hugetlb=1), replacing any
    hugetlb setting there."""
    env = dict(os.environ if base is None else base)
    kept = [t for t in env.get("GLIBC_TUNABLES", "").split(":")
            if t and not t.startswith(HUGETLB + "=")]
    env["GLIBC_TUNABLES"] = ":".join(kept + [HUGETLB + "=1"])
    return env


def modeld_malloc_env():
    """The environment modeld runs itself under, for a contender that must
    use the same allocator setting: modeld re-execs with
    glibc.malloc.hugetlb=1 unless MODELD_HUGEPAGES is 0/off/false or
    GLIBC_TUNABLES already has a hugetlb setting (internal/platform/huge_pages.cpp)."""
    opt_out = os.environ.get("MODELD_HUGEPAGES", "") in ("0", "off", "false")
    own = any(t.startswith(HUGETLB + "=")
              for t in os.environ.get("GLIBC_TUNABLES", "").split(":"))
    return dict(os.environ) if opt_out or own else hugetlb_env()


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

    def log_size(self):
        return os.path.getsize(self.logfile)

    def log_since(self, offset):
        """The log lines written after byte `offset`."""
        with open(self.logfile, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace").splitlines()

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

    def faults(self):
        """Minor and major page faults of the process (all its threads) so
        far, from /proc/<pid>/stat (fields 10 and 12)."""
        with open(f"/proc/{self.pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return {"minflt": int(rest[7]), "majflt": int(rest[9])}

    def anon_huge_kb(self):
        """AnonHugePages of the process in kB (/proc/<pid>/smaps_rollup);
        None when the kernel does not say."""
        try:
            with open(f"/proc/{self.pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("AnonHugePages:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

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


def write_modeld_config(path, models, threads, ctx, parallel=None, standby_bytes=None,
                        prompt_cache_bytes=None, repack=None):
    """A registry with one entry per model, the same threads and context;
    `parallel` (requests decoded together) when given, else modeld's default.
    `standby_bytes` and `prompt_cache_bytes` set those top-level keys when
    given; `repack` maps a model id to its `repack:` (llama.cpp's weight
    repacking; modeld's default, true, where absent)."""
    lines = [f"{k}: {v}" for k, v in (("standby_bytes", standby_bytes),
                                       ("prompt_cache_bytes", prompt_cache_bytes))
             if v is not None]
    lines.append("models:")
    for mid, mpath in models.items():
        lines += [f"  - id: {mid}", f"    name: {mid}", f"    path: {mpath}",
                  "    quant: bench", "    family: llama", f"    ctx_size: {ctx}",
                  f"    threads: {threads}"]
        if parallel is not None:
            lines.append(f"    parallel: {parallel}")
        if (repack or {}).get(mid) is not None:
            lines.append(f"    repack: {'true' if repack[mid] else 'false'}")
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


def start_llama_server(binary, model_path, threads, ctx, workdir, tag, slots=1, extra=()):
    """`extra`: more flags, e.g. ["--embeddings", "--pooling", "mean"]."""
    port = free_port()
    argv = [binary, "-m", model_path, "--port", str(port)] + \
        llama_server_args(threads, ctx, slots) + list(extra)
    srv = Server(tag, argv, os.path.join(workdir, f"{tag}.log"))
    srv.port = port
    try:
        srv.wait_http_ok("/health", 120)
    except ServerError:
        srv.stop()
        raise
    return srv


def start_router(binary, models_dir, threads, ctx, workdir, logname="router.log", env=None,
                 name="llama-server-router"):
    """llama-server in router mode, one model at a time; `env` (default: ours)
    is inherited by the model instances it spawns."""
    port = free_port()
    argv = [binary, "--models-dir", models_dir, "--models-max", "1", "--port", str(port)]
    argv += llama_server_args(threads, ctx)
    srv = Server(name, argv, os.path.join(workdir, logname), env=env)
    srv.port = port
    try:
        srv.wait_http_ok("/health", 60)
        srv.models = srv.wait_http_ok("/models", 30)
    except ServerError:
        srv.stop()
        raise
    return srv


def run_tool(argv, timeout, env=None):
    """Runs a tool to completion (`env`: its environment, default ours);
    returns (returncode, stdout, stderr)."""
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        return 124, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
    return p.returncode, p.stdout, p.stderr
