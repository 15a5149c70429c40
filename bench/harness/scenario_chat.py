"""Multi-turn chat with the prompt cache (issue 10): an N-turn conversation
(default 8) over the OpenAI chat API, streamed. Each turn sends the whole
history: every earlier user message, every reply as the server streamed it,
and a new user message of 80 words (deterministic, distinct per turn).
Replies: max_tokens 24, temperature 0, seed 1. TTFT per turn = request sent
-> first chunk with text.

Contenders, same model file, threads and context:

  modeld               one model loaded, no switches
  llama-server         -np 1, `cache_prompt: true` (its default, sent anyway)
  modeld-switch        modeld with a 1-token request for another model
                       (tiny; tiny-b for tiny) between turns, which switches
                       away and makes the turn switch back
  llama-server-router  router mode (--models-max 1, as the switch scenario
                       runs it) with the same request for the other model
                       between turns

Every contender converses with its own texts: the two modeld contenders share
one modeld (whose `parallel` sequences each keep a prompt cache), so the same
text there would be cached by the other contender. Texts depend on the round
and on whether the contender switches, so modeld and llama-server get the
same texts, and so do modeld-switch and the router. Each round is a new
conversation; the warm-up is a shorter one (CHAT_WARMUP_TURNS).

llama-server's chat endpoint fails a stream whose reply is not valid UTF-8
("does not match the expected peg-native format"), which the generated
models' byte tokens can produce. So, as the concurrency scenario screens its
prompts, the conversations are screened first: a candidate round (its plain
and its switching texts) counts only when llama-server -np 1 streams both in
full; the JSON lists the rejected ones.

Switch time (for the target "turn-N TTFT with switches <= switch time + 1.2 x
turn-N TTFT without"): the time modeld spent switching back to the
conversation's model inside that turn's request: the growth of
`modeld_switch_duration_seconds_sum{model=...}` on /metrics over the request
(the same number /infer reports as `timings.switch_ms`). The in-between
request goes to /infer (/completion on the router), so its TTFT and modeld's
`timings.switch_ms` for the switch away are recorded too."""

import itertools
import os
import random
import re
import urllib.request

from harness import contenders as m
from harness.context import (CHAT_REPLY_TOKENS, CHAT_USER_WORDS, CHAT_WARMUP_TURNS,
                             SWITCH_PROMPT)
from harness.procs import (ServerError, start_llama_server, start_modeld, start_router,
                           write_modeld_config)
from harness.runner import Contender, alternate
from harness.util import log, ratio, summarize

SWITCHING = ("modeld-switch", "llama-server-router")
SCREEN_TRIES = 10  # conversations beyond the rounds tried before giving up screening

WORDS = ("time year people way day man thing woman life child world school state "
         "family student group country problem hand part place case week company "
         "system program question work government number night point home water "
         "room mother area money story fact month lot right study book eye job word "
         "business issue side kind head house service friend father power hour game "
         "line end member law car city community name president team minute idea kid "
         "body information back parent face others level office door health person "
         "art war history party result change morning reason research girl guy moment "
         "air teacher force education walk talk find give tell ask seem feel try leave "
         "call keep let begin help show hear play run move like live believe hold bring "
         "happen write provide sit stand lose pay meet include continue set learn lead "
         "understand watch follow stop create speak read allow add spend grow open win "
         "offer remember love consider appear buy wait serve die send expect build stay "
         "fall cut reach kill remain good new first last long great little own other old "
         "right big high different small large next early young important few public bad "
         "same able quietly often always never together really already").split()


def user_text(key, turn, words=CHAT_USER_WORDS):
    """`words` words, deterministic for (key, turn), as sentences of 8 to 14
    words."""
    rng = random.Random(f"modeld-bench-chat/{key}/{turn}")
    out, left = [], 0
    for i in range(words):
        w = rng.choice(WORDS)
        if left == 0:
            w, left = w.capitalize(), rng.randint(8, 14)
        left -= 1
        if left == 0 or i == words - 1:
            w, left = w + ".", 0
        out.append(w)
    return " ".join(out)


_SWITCH_SUM = re.compile(r'^modeld_switch_duration_seconds_sum\{model="([^"]*)"\}\s+(\S+)$',
                         re.M)


def modeld_switch_seconds(port, model):
    """modeld's total switch time into `model` so far (s), from /metrics;
    None when the metric is absent."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode(errors="replace")
    except OSError as e:
        raise m.MeasureError(f"/metrics: {e}") from e
    if "modeld_switch_duration_seconds" not in text:
        return None
    return sum(float(v) for mid, v in _SWITCH_SUM.findall(text) if mid == model)


def converse(key, turns, ask, between=None, prepare=None):
    """One conversation of `turns` turns; returns one detail per turn, its
    "group" the turn number. `prepare` runs first (unrecorded); `between`,
    before every turn but the first, returns the in-between request's details."""
    if prepare is not None:
        prepare()
    messages, out = [], []
    for k in range(1, turns + 1):
        pre = between() if between is not None and k > 1 else None
        messages.append({"role": "user", "content": user_text(key, k)})
        d = ask(messages)
        messages.append({"role": "assistant", "content": d["reply"]})
        d.update({"group": str(k), "turn": k, "conversation": key})
        if pre is not None:
            d["between"] = pre
        out.append(d)
    return out


def _contender(name, turns, keys, ask, between=None, prepare=None, missing=None):
    """Round r converses with the texts keyed keys["rounds"][r] plus "p"
    (plain) or "s" (switching); the warm-up with keys["warmup"]'s, only
    CHAT_WARMUP_TURNS long."""
    kind = "s" if name in SWITCHING else "p"
    rounds = itertools.cycle(keys["rounds"])
    groups = [str(k) for k in range(1, turns + 1)]
    return Contender(
        name, "ms", "ttft_ms",
        lambda: converse(f"{next(rounds)}{kind}", turns, ask, between, prepare),
        warmup=lambda: converse(f"{keys['warmup']}{kind}", min(turns, CHAT_WARMUP_TURNS), ask,
                                between, prepare),
        missing=missing, groups=groups)


def screen(server, mid, turns, reps):
    """Conversation keys llama-server streams in full, plain and switching
    texts alike: {"warmup": key, "rounds": [key, ...], "rejected": [...]}.
    Without llama-server, the first keys."""
    def ask(messages):
        return m.chat_turn(server.port, mid, messages, CHAT_REPLY_TOKENS)

    def passes(key, n):
        if server is None:
            return True
        for kind in "ps":
            try:
                converse(f"{key}{kind}", n, ask)
            except m.MeasureError as e:
                rejected.append({"key": f"{key}{kind}", "turns": n, "error": str(e)[:300]})
                return False
        return True

    rejected = []
    warmup = next((k for k in (f"w{i}" for i in range(1, SCREEN_TRIES + 1))
                   if passes(k, min(turns, CHAT_WARMUP_TURNS))), "w1")
    rounds = []
    for i in range(1, reps + SCREEN_TRIES + 1):
        if len(rounds) == reps:
            break
        if passes(str(i), turns):
            rounds.append(str(i))
    if len(rounds) < reps:
        log(f"chat: llama-server streamed only {len(rounds)} of {reps + SCREEN_TRIES} "
            "conversations in full")
        rounds += [str(i) for i in range(1, reps + SCREEN_TRIES + 1)
                   if str(i) not in rounds][:reps - len(rounds)]
    return {"warmup": warmup, "rounds": rounds, "rejected": rejected}


def _modeld_contenders(modeld, mid, other, turns, keys):
    port = modeld.port

    def ask(messages):
        return m.chat_turn(port, mid, messages, CHAT_REPLY_TOKENS)

    def ask_switching(messages):
        before = modeld_switch_seconds(port, mid)
        d = m.chat_turn(port, mid, messages, CHAT_REPLY_TOKENS)
        after = modeld_switch_seconds(port, mid)
        d["switch_back_ms"] = None if before is None or after is None \
            else (after - before) * 1e3
        return d

    def between():
        d = m.modeld_infer(port, other, SWITCH_PROMPT, 1)
        return {"model": other, "ttft_ms": d["ttft_ms"], "total_ms": d["total_ms"],
                "switch_ms": d["server_timings"].get("switch_ms")}

    def prepare():  # the conversation's model loaded before turn 1
        m.modeld_infer(port, mid, SWITCH_PROMPT, 1)

    no_other = None if other else f"no other model file to switch to from {mid}"
    return (_contender("modeld", turns, keys, ask, prepare=prepare),
            _contender("modeld-switch", turns, keys, ask_switching, between, prepare,
                       missing=no_other))


def _router_contender(router, router_missing, mid, other, turns, keys):
    def ask(messages):
        return m.chat_turn(router.port, mid, messages, CHAT_REPLY_TOKENS)

    def between():
        d = m.llama_completion(router.port, SWITCH_PROMPT, 1, model=other)
        return {"model": other, "ttft_ms": d["ttft_ms"], "total_ms": d["total_ms"]}

    def prepare():
        m.llama_completion(router.port, SWITCH_PROMPT, 1, model=mid)

    missing = router_missing or (None if other else f"no other model file to switch to "
                                                    f"from {mid}")
    if router is None and not missing:
        missing = "router mode did not start"
    return _contender("llama-server-router", turns, keys, ask, between, prepare, missing)


def _server_contender(server, server_missing, mid, turns, keys):
    def ask(messages):
        return m.chat_turn(server.port, mid, messages, CHAT_REPLY_TOKENS)

    return _contender("llama-server", turns, keys, ask, missing=server_missing)


def _details(entry):
    return entry["details"] if entry["status"] == "ok" else []


def _summaries(turn_blocks):
    """Per contender and turn: cached and prompt tokens of every round; the
    switch times and in-between requests of the switching contenders."""
    cached, prompt = {}, {}
    for k, tb in turn_blocks.items():
        for name, e in tb["contenders"].items():
            ds = _details(e)
            cached.setdefault(name, {})[k] = [d.get("cached_tokens") for d in ds]
            prompt.setdefault(name, {})[k] = [d.get("prompt_tokens") for d in ds]

    def nums(name, k, field, sub=None):
        ds = _details(turn_blocks[k]["contenders"][name])
        vals = [(d.get(sub) or {}).get(field) if sub else d.get(field) for d in ds]
        return [v for v in vals if v is not None]

    ks = list(turn_blocks)
    sw = {"modeld_switch_back_ms": {k: summarize(nums("modeld-switch", k, "switch_back_ms"))
                                    for k in ks},
          "modeld_between_ttft_ms": summarize(
              [v for k in ks for v in nums("modeld-switch", k, "ttft_ms", "between")]),
          "modeld_between_switch_ms": summarize(
              [v for k in ks for v in nums("modeld-switch", k, "switch_ms", "between")]),
          "router_between_ttft_ms": summarize(
              [v for k in ks for v in nums("llama-server-router", k, "ttft_ms", "between")])}
    return cached, prompt, sw


def _ratios(c):
    med = {name: e["median"] for name, e in c.items()}
    return {"modeld/llama-server": ratio(med["modeld"], med["llama-server"]),
            "modeld-switch/modeld": ratio(med["modeld-switch"], med["modeld"]),
            "llama-server-router/modeld-switch": ratio(med["llama-server-router"],
                                                       med["modeld-switch"])}


def _model(b, modeld, router, router_missing, mid):
    other, turns = b.chat_other(mid), b.chat_turns
    server, server_missing = None, b.missing.get("llama-server")
    if b.tool("llama-server"):
        try:
            server = start_llama_server(b.tool("llama-server"), b.models[mid], b.threads,
                                        b.ctx, b.workdir, f"llama-server-chat-{mid}")
        except ServerError as e:
            log(str(e))
            server_missing = f"failed to start with -np 1: {str(e)[:300]}"
    try:
        log(f"chat: {mid}, {turns} turns, in-between requests to {other}")
        keys = screen(server, mid, turns, b.chat_reps)
        plain, switching = _modeld_contenders(modeld, mid, other, turns, keys)
        cs = [plain, _server_contender(server, server_missing, mid, turns, keys), switching,
              _router_contender(router, router_missing, mid, other, turns, keys)]
        res = alternate(cs, b.chat_reps, b.pause_s)
    finally:
        if server is not None:
            server.stop()
    blocks = {k: {"contenders": res[k], "ratios": _ratios(res[k])}
              for k in (str(i) for i in range(1, turns + 1))}
    cached, prompt, sw = _summaries(blocks)
    return {"turns_n": turns, "reply_tokens": CHAT_REPLY_TOKENS, "user_words": CHAT_USER_WORDS,
            "rounds": b.chat_reps, "other_model": other,
            "conversations": {"warmup": keys["warmup"], "rounds": keys["rounds"]},
            "conversations_rejected_by_llama_server": keys["rejected"], "turns": blocks,
            "cached_tokens": cached, "prompt_tokens": prompt, "switch": sw}


def _router_models_dir(b, ids):
    """The router loads every .gguf of a folder, named by file name."""
    d = os.path.join(b.workdir, "router-chat-models")
    os.makedirs(d, exist_ok=True)
    for mid in ids:
        link = os.path.join(d, f"{mid}.gguf")
        if not os.path.lexists(link):
            os.symlink(b.model_path(mid), link)
    return d


def run(b):
    """Returns {model: result}: one modeld and one router for every model
    (each with the conversation models and the ones switched to), one
    llama-server -np 1 per model."""
    models = b.chat_models()
    files = {}
    for mid in models:
        files[mid] = b.model_path(mid)
        other = b.chat_other(mid)
        if other:
            files[other] = b.model_path(other)
    config = os.path.join(b.workdir, "chat.yaml")
    write_modeld_config(config, files, b.threads, b.ctx)
    modeld = start_modeld(b.tools["modeld"], config, b.threads, b.workdir, "modeld-chat")
    router, router_missing = None, b.missing.get("llama-server")
    out = {}
    try:
        if b.tool("llama-server"):
            try:
                router = start_router(b.tool("llama-server"), _router_models_dir(b, files),
                                      b.threads, b.ctx, b.workdir, "router-chat.log")
                names = {x.get("id") for x in router.models.get("data", [])}
                absent = sorted(set(files) - names)
                if absent:
                    router_missing = f"router mode lists no model named {absent} " \
                                     f"(has {sorted(names)})"
            except ServerError as e:
                router_missing = f"router mode failed to start: {str(e)[:300]}"
                log(router_missing)
        for mid in models:
            out[mid] = _model(b, modeld, router, router_missing, mid)
    finally:
        modeld.stop()
        if router is not None:
            router.stop()
    return out
