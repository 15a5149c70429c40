#!/usr/bin/env python3
"""Model switches per 1,000 requests when N modeld replicas serve M models.

Each replica holds one model at a time (modeld's one slot); a request for
another model switches it. Requests follow a Zipf law over the models
(model k, 1-based, has weight 1/k^s) and arrive as a Poisson process at
`load` x the fleet's capacity (each request takes one time unit on a
replica; a switch adds `switch_cost` units). Three routers:

  random        any replica, uniformly
  round-robin   replicas in turn
  affinity      a replica that has the model loaded, the least busy one,
                unless all of those have more than `max_queue` units of work
                waiting; else the least busy replica overall (it switches).
                This is what the Gateway API Inference Extension's endpoint
                picker does with vllm:lora_requests_info (modeld's
                --metrics-compat vllm) and queue depth.

Standard library only; deterministic for a given --seed.
"""

import argparse
import bisect
import itertools
import random

ROUTERS = ("random", "round-robin", "affinity")


def zipf_cdf(models, s):
    weights = [1.0 / (k ** s) for k in range(1, models + 1)]
    total = sum(weights)
    return list(itertools.accumulate(w / total for w in weights))


def simulate(replicas, models, s, router, requests, seed, load=0.25, switch_cost=2.0,
             max_queue=4.0):
    """Returns (switches per 1,000 requests, mean wait in service units)."""
    rng = random.Random(seed)  # one stream per run: every router sees the same requests
    cdf = zipf_cdf(models, s)
    loaded = [None] * replicas  # model id per replica; None until its first load
    busy_until = [0.0] * replicas
    rr = 0
    pick_rng = random.Random(seed + 1)
    now = 0.0
    switches = 0
    waited = 0.0
    for _ in range(requests):
        now += rng.expovariate(load * replicas)
        model = bisect.bisect_left(cdf, rng.random())
        if router == "random":
            r = pick_rng.randrange(replicas)
        elif router == "round-robin":
            r = rr
            rr = (rr + 1) % replicas
        else:
            backlog = [max(0.0, b - now) for b in busy_until]
            warm = [i for i in range(replicas) if loaded[i] == model and backlog[i] <= max_queue]
            pool = warm or range(replicas)
            r = min(pool, key=lambda i: (backlog[i], i))
        start = max(now, busy_until[r])
        cost = 1.0
        if loaded[r] != model:
            if loaded[r] is not None:
                switches += 1
            cost += switch_cost  # a cold first load costs as much as a switch
            loaded[r] = model
        busy_until[r] = start + cost
        waited += start - now
    return 1000.0 * switches / requests, waited / requests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--load", type=float, default=0.25, help="arrival rate / fleet capacity")
    ap.add_argument("--scenario", action="append", metavar="N,M,S",
                    help="replicas,models,zipf exponent (repeatable)")
    args = ap.parse_args()
    scenarios = [tuple(x.split(",")) for x in args.scenario] if args.scenario else [
        ("2", "4", "1.0"), ("4", "4", "1.0"), ("4", "8", "1.0"), ("4", "8", "1.5"),
        ("8", "16", "1.0"), ("8", "32", "1.2")]
    print("Switches per 1,000 requests (mean wait in request service times), "
          f"{args.requests} requests, load {args.load}, seed {args.seed}.")
    print()
    print("| replicas | models | zipf s | " + " | ".join(ROUTERS) + " |")
    print("|---:|---:|---:|" + "---:|" * len(ROUTERS))
    for n, m, s in scenarios:
        cells = []
        for router in ROUTERS:
            sw, wait = simulate(int(n), int(m), float(s), router, args.requests, args.seed,
                                load=args.load)
            cells.append(f"{sw:.0f} ({wait:.1f})")
        print(f"| {n} | {m} | {s} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
