"""What one benchmark run works with: settings, binaries and models."""

import os

# Settings every contender shares (the fairness rules).
THREADS = 2
CTX = 4096
# Decode prompts, tried in order: llama-server's /completion aborts a stream
# whose text holds bytes that are not valid UTF-8 ("does not match the
# expected Content-only format"), which the generated models' byte tokens can
# produce, so each model uses the first prompt llama-server can stream in full
# (the same prompt for every contender; the JSON records the choice).
DECODE_PROMPTS = [
    "Once upon a time, in a small village by the sea,",
    "The weather today is",
    "Write a short story about a robot who learns to paint.",
    "In the beginning",
    "Here is a list of ten fruits:",
    "The quick brown fox",
    "Dear diary, today I",
    "Explain how a bicycle works.",
    "It was a dark and stormy night;",
    "Question: what is the capital of France? Answer:",
    "My favourite recipe starts with",
    "Chapter one.",
]
SWITCH_PROMPT = "Hello"
TTFT_PROMPT_TOKENS = 128
# Concurrency: clients at once on one model, tokens each (full / quick).
CONCURRENCY_CLIENTS = [1, 2, 4, 8]
CONCURRENCY_CLIENTS_QUICK = [1, 2]
CONCURRENCY_TOKENS = 128
CONCURRENCY_TOKENS_QUICK = 16
CONCURRENCY_MODELS = ["small", "1b"]   # when --models is not given (quick: tiny)
CONCURRENCY_MAX_REPS = 3               # each round is already N streams
# Chat (issue 10): an N-turn conversation over the OpenAI chat API with the
# prompt cache; turns (full / quick), words per user message, reply tokens.
CHAT_TURNS = 8
CHAT_TURNS_QUICK = 3
CHAT_USER_WORDS = 80
CHAT_REPLY_TOKENS = 24
CHAT_MODELS = ["small", "1b"]          # when --models is not given (quick: tiny)
CHAT_MAX_REPS = 3                      # each round is already N turns per contender
CHAT_WARMUP_TURNS = 2                  # the unrecorded warm-up conversation

# Presets in size order; switches cycle between neighbours.
PRESET_ORDER = ["tiny", "small", "1b"]


class Bench:
    def __init__(self, args, root, workdir):
        self.root = root
        self.workdir = workdir
        self.quick = args.quick
        self.threads = THREADS
        self.ctx = CTX
        self.reps = args.reps if args.reps is not None else (2 if args.quick else 5)
        self.tokens = args.tokens if args.tokens is not None else (64 if args.quick else 256)
        self.memory_switches = args.memory_switches or (10 if args.quick else 100)
        self.clients = args.clients or (CONCURRENCY_CLIENTS_QUICK if args.quick
                                        else CONCURRENCY_CLIENTS)
        self.concurrency_tokens = args.concurrency_tokens or (
            CONCURRENCY_TOKENS_QUICK if args.quick else CONCURRENCY_TOKENS)
        self.concurrency_reps = min(self.reps, CONCURRENCY_MAX_REPS)
        self.chat_turns = args.chat_turns or (CHAT_TURNS_QUICK if args.quick else CHAT_TURNS)
        self.chat_reps = min(self.reps, CHAT_MAX_REPS)
        self.models_given = args.models is not None
        self.pause_s = 0.2
        self.models = {}       # id -> absolute path, in preset order
        self.extra_models = {}  # id -> path: files only chat switches to (never measured)
        self.tools = {}        # name -> path
        self.missing = {}      # name -> why it cannot run

    def tool(self, name):
        return self.tools.get(name)

    def add_tool(self, name, path, reason_if_absent):
        if path and os.access(path, os.X_OK):
            self.tools[name] = path
        else:
            self.missing[name] = reason_if_absent

    def switch_pairs(self):
        """Neighbouring presets among the selected models (tiny<->small,
        small<->1b). One model alone is paired with its '-b' twin (a second
        file of the same preset), when that file exists."""
        ids = [m for m in PRESET_ORDER if m in self.models]
        pairs = list(zip(ids, ids[1:]))
        if not pairs and len(ids) == 1 and f"{ids[0]}-b" in self.models:
            pairs = [(ids[0], f"{ids[0]}-b")]
        return pairs

    def measured_models(self):
        """The models decode and TTFT run on (twins excluded)."""
        return [m for m in PRESET_ORDER if m in self.models]

    def concurrency_models(self):
        """The models the concurrency scenario runs on: those asked for with
        --models, else small and 1b (tiny in the quick profile)."""
        ids = self.measured_models()
        if self.models_given or self.quick:
            return ids
        return [m for m in ids if m in CONCURRENCY_MODELS] or ids

    def chat_models(self):
        """The models the chat scenario converses with: those asked for with
        --models, else small and 1b (tiny in the quick profile)."""
        ids = self.measured_models()
        if self.models_given or self.quick:
            return ids
        return [m for m in ids if m in CHAT_MODELS] or ids

    def model_path(self, mid):
        return self.models.get(mid) or self.extra_models.get(mid)

    def chat_other(self, mid):
        """The model chat's in-between request goes to (forcing a switch away
        and back): tiny, or for tiny its twin tiny-b (else small); None when
        no such file is here."""
        cands = ["tiny"] if mid != "tiny" else ["tiny-b", "small"]
        return next((c for c in cands if self.model_path(c)), None)
