#!/usr/bin/env python3
"""PyTorch side of tools/bench/forward.js: forward throughput of torchvision networks.

A worker: reads one JSON job per line on stdin, answers one JSON line per job on stdout.
  job:    {"net": "vgg16", "indices": [3, 8, 15, 29], "size": 64, "batch": 8, "runs": 5, "warmup": 2}
          (runs may be 0 for a warm-up only; forward.js sends runs 1 per call to interleave engines)
          or, for networks outside the study, "modules": ["features.0", ...] instead of "indices"
  answer: {"net": ..., "size": ..., "batch": ..., "times_ms": [...], "median_ms": ..., "images_per_s": ...}
          or {"error": "..."}
The network runs as the study addresses it (the module list of torch_features.py: the children
of model.features, or the top-level children), from the input up to the deepest index, under
torch.no_grad() in eval mode, with seeded random weights (torchvision's own init) and
torch.set_num_threads(core count). With "modules" (dotted named_modules() names, the points'
torchModule) the whole model runs under forward hooks and stops once every named module has
produced its output, so the time covers exactly the computation up to the deepest point. A first line {"ready": true, "torch": ..., "threads": ...}
says the worker is up.
"""
import json
import os
import statistics
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
from torch_features import module_list  # noqa: E402  (the study's module indexing, shared with parity)

THREADS = int(os.environ.get("DPL_BENCH_THREADS") or os.cpu_count() or 1)
torch.set_num_threads(THREADS)
_models = {}


def model_of(net):
    if net not in _models:
        torch.manual_seed(0)
        kwargs = {"weights": None}
        if net in ("googlenet", "inception_v3"):
            kwargs.update(aux_logits=False, init_weights=True)
        model = getattr(torchvision.models, net)(**kwargs).eval()
        _models.clear()  # one network at a time keeps memory flat
        _models[net] = model
    return _models[net]


class _Stop(Exception):
    pass


def hooked_forward(model, names):
    """model(x) up to the last of the named modules (forward hooks; the rest never runs)."""
    named = dict(model.named_modules())
    missing = [n for n in names if n not in named]
    if missing:
        raise ValueError(f"no module named {', '.join(missing)}")
    seen = set()

    def hook_for(name):
        def hook(_m, _inp, _out):
            seen.add(name)
            if len(seen) == len(names):
                raise _Stop()
        return hook

    def run(x):
        seen.clear()
        handles = [named[n].register_forward_hook(hook_for(n)) for n in names]
        try:
            model(x)
        except _Stop:
            pass
        finally:
            for h in handles:
                h.remove()

    return run


def measure(job):
    model = model_of(job["net"])
    if job.get("modules"):
        forward = hooked_forward(model, list(dict.fromkeys(job["modules"])))
    else:
        mods = module_list(model, job["net"])
        deepest = max(job["indices"])

        def forward(y):
            for i in range(deepest + 1):
                y = mods[i](y)

    x = torch.rand(job["batch"], 3, job["size"], job["size"], generator=torch.Generator().manual_seed(1))

    def once():
        t = time.perf_counter()
        with torch.no_grad():
            forward(x)
        return (time.perf_counter() - t) * 1000.0

    for _ in range(job.get("warmup", 2)):
        once()
    times = [once() for _ in range(job["runs"])]
    med = statistics.median(times) if times else None
    return {
        "net": job["net"],
        "size": job["size"],
        "batch": job["batch"],
        "times_ms": times,
        "median_ms": med,
        "images_per_s": job["batch"] * 1000.0 / med if med else None,
    }


def main():
    print(json.dumps({"ready": True, "torch": torch.__version__, "torchvision": torchvision.__version__, "threads": THREADS}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            out = measure(json.loads(line))
        except Exception as e:  # a failed job is reported, the worker goes on
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
