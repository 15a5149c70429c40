#!/usr/bin/env python3
"""Offline validation of deploy/k8s (CTest k8s_manifests).

kubectl cannot validate CRDs (InferencePool, HTTPRoute) without a cluster,
so: `kubectl kustomize` renders each pattern (it parses every manifest and
the kustomizations, offline), then this script checks the rendered objects
against the fields modeld's patterns rely on. Needs kubectl and PyYAML
(scripts/setup.sh installs kubernetes-client and python3-yaml).

Usage: check_k8s.py DEPLOY_K8S_DIR
"""

import subprocess
import sys

import yaml

PATTERNS = ("shared-pool", "pinned")
problems = []


def need(cond, where, what):
    if not cond:
        problems.append(f"{where}: {what}")
    return cond


def dig(obj, *path):
    for p in path:
        if isinstance(obj, dict) and p in obj:
            obj = obj[p]
        elif isinstance(obj, list) and isinstance(p, int) and p < len(obj):
            obj = obj[p]
        else:
            return None
    return obj


def check_deployment(d, where):
    spec = dig(d, "spec", "template", "spec") or {}
    labels = dig(d, "spec", "template", "metadata", "labels") or {}
    need(dig(d, "spec", "selector", "matchLabels") and
         all(labels.get(k) == v for k, v in dig(d, "spec", "selector", "matchLabels").items()),
         where, "spec.selector.matchLabels must match the pod labels")
    containers = spec.get("containers") or []
    if not need(len(containers) == 1, where, "expected one container"):
        return labels, [], None
    c = containers[0]
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                        ("readinessProbe", "/readyz")):
        need(dig(c, probe, "httpGet", "path") == path, where, f"{probe} must GET {path}")
    need(dig(c, "resources", "requests", "cpu") and dig(c, "resources", "requests", "memory"),
         where, "resources.requests.cpu and .memory are required")
    need(dig(c, "resources", "limits", "memory"), where, "resources.limits.memory is required")
    mounts = {m.get("name"): m for m in c.get("volumeMounts") or []}
    need(mounts.get("models", {}).get("readOnly") is True, where,
         "the models volume must be mounted readOnly")
    vols = {v.get("name"): v for v in spec.get("volumes") or []}
    need(dig(vols.get("models"), "persistentVolumeClaim", "readOnly") is True, where,
         "the models claim must be readOnly")
    need(dig(vols.get("registry"), "configMap", "name"), where,
         "the registry volume must come from a ConfigMap")
    args = c.get("args") or []
    need("--metrics-compat=vllm" in args, where, "needs --metrics-compat=vllm for the picker")
    need(any(a.startswith("--config=") for a in args), where, "needs --config=")
    pins = [a.split("=", 1)[1] for a in args if a.startswith("--pin=")]
    port = dig(c, "ports", 0, "containerPort")
    need(isinstance(port, int), where, "needs a containerPort")
    return labels, pins, port


def check(pattern, root):
    out = subprocess.run(["kubectl", "kustomize", f"{root}/{pattern}"], capture_output=True,
                         text=True)
    if not need(out.returncode == 0, pattern, "kubectl kustomize failed: " + out.stderr.strip()):
        return
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    by_kind = {}
    for d in docs:
        need(d.get("apiVersion") and d.get("kind") and dig(d, "metadata", "name"), pattern,
             f"object without apiVersion/kind/metadata.name: {d}")
        by_kind.setdefault(d.get("kind"), []).append(d)

    registry_ids = set()
    for cm in by_kind.get("ConfigMap", []):
        text = dig(cm, "data", "models.yaml")
        if need(text, pattern, "ConfigMap needs data.models.yaml"):
            reg = yaml.safe_load(text)
            for m in reg.get("models", []):
                need(all(k in m for k in ("id", "name", "path", "quant", "family")), pattern,
                     f"registry entry lacks a required key: {m}")
                registry_ids.add(m.get("id"))

    pods = []  # (labels, pins, port) per Deployment
    for d in by_kind.get("Deployment", []):
        where = f"{pattern}/Deployment/{d['metadata']['name']}"
        pods.append(check_deployment(d, where))
        for pin in pods[-1][1]:
            need(pin in registry_ids, where, f"--pin={pin} is not in the registry")
    need(pods, pattern, "no Deployment")

    pools = {}
    for p in by_kind.get("InferencePool", []):
        name = p["metadata"]["name"]
        where = f"{pattern}/InferencePool/{name}"
        pools[name] = p
        need(p["apiVersion"] == "inference.networking.k8s.io/v1", where,
             "apiVersion must be inference.networking.k8s.io/v1")
        sel = dig(p, "spec", "selector", "matchLabels")
        ports = [t.get("number") for t in dig(p, "spec", "targetPorts") or []]
        need(sel, where, "spec.selector.matchLabels is required")
        need(ports and all(isinstance(n, int) for n in ports), where,
             "spec.targetPorts[].number is required")
        need(dig(p, "spec", "endpointPickerRef", "name") and
             dig(p, "spec", "endpointPickerRef", "port", "number"), where,
             "spec.endpointPickerRef.name and .port.number are required")
        selected = [pod for pod in pods
                    if sel and all(pod[0].get(k) == v for k, v in sel.items())]
        if need(selected, where, "selects no Deployment's pods"):
            need(all(pod[2] in ports for pod in selected), where,
                 "targetPorts do not include the pods' containerPort")
            pins = {pin for pod in selected for pin in pod[1]}
            need(len(pins) <= 1, where, f"one pool must not mix pinned models: {sorted(pins)}")
    need(pools, pattern, "no InferencePool")

    for r in by_kind.get("HTTPRoute", []):
        where = f"{pattern}/HTTPRoute/{r['metadata']['name']}"
        need(r["apiVersion"] == "gateway.networking.k8s.io/v1", where,
             "apiVersion must be gateway.networking.k8s.io/v1")
        need(dig(r, "spec", "parentRefs", 0, "name"), where, "spec.parentRefs is required")
        for i, rule in enumerate(dig(r, "spec", "rules") or []):
            for b in rule.get("backendRefs") or []:
                need(b.get("group") == "inference.networking.k8s.io" and
                     b.get("kind") == "InferencePool" and b.get("name") in pools,
                     f"{where}/rules[{i}]", f"backendRef must name an InferencePool here: {b}")
                if pattern == "pinned":
                    headers = [h for m in rule.get("matches") or [] for h in m.get("headers") or []]
                    model = [h.get("value") for h in headers
                             if h.get("name") == "X-Gateway-Model-Name"]
                    if need(model, f"{where}/rules[{i}]",
                            "pinned rules must match X-Gateway-Model-Name"):
                        pool_pins = {pin for pod in pods
                                     if all(pod[0].get(k) == v for k, v in
                                            (dig(pools.get(b.get("name")), "spec", "selector",
                                                 "matchLabels") or {}).items())
                                     for pin in pod[1]}
                        need(pool_pins == {model[0]}, f"{where}/rules[{i}]",
                             f"header {model[0]} routes to a pool pinned to {sorted(pool_pins)}")
    need(by_kind.get("HTTPRoute"), pattern, "no HTTPRoute")
    print(f"{pattern}: {len(docs)} objects checked")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "deploy/k8s"
    for pattern in PATTERNS:
        check(pattern, root)
    for p in problems:
        print("problem:", p)
    if problems:
        sys.exit(1)
    print("deploy/k8s: ok")


if __name__ == "__main__":
    main()
