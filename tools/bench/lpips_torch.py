#!/usr/bin/env python3
"""The lpips package's forward pass (lpips.LPIPS(net, version='0.1'), float32, no_grad) on torchvision
features with the same taps, timed over folders of same-named PNG pairs, as its lpips_2dirs.py does
(images read with PIL, scaled to [-1,1]). The package itself is not installable here (no PyPI); this is
the computation it performs (tools/parity/lpips_forward.py documents the formula).

usage: lpips_torch.py --net alex --dir0 D0 --dir1 D1 --lin LIN.pth [--batch 1] [--threads N] [--seed 0]
prints one JSON line: {"pairs": n, "seconds": s, "pairs_per_s": r, "mean": m}
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

NETS = {"alex": "alexnet", "vgg": "vgg16", "squeeze": "squeezenet1_1"}
TAPS = {"alex": [1, 4, 7, 9, 11], "vgg": [3, 8, 15, 22, 29], "squeeze": [1, 4, 7, 9, 10, 11, 12]}
SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)


def load(path):
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", required=True, choices=sorted(NETS))
    ap.add_argument("--dir0", required=True)
    ap.add_argument("--dir1", required=True)
    ap.add_argument("--lin", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    features = getattr(torchvision.models, NETS[args.net])(weights=None).features.eval()
    sd = torch.load(args.lin)
    lins = [sd[f"lin{i}.model.1.weight"] for i in range(len(TAPS[args.net]))]
    names = sorted(f for f in os.listdir(args.dir0) if f.endswith(".png"))
    taps = TAPS[args.net]
    dists = []
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(names), args.batch):
            group = names[i : i + args.batch]
            x0 = torch.stack([load(os.path.join(args.dir0, n)) for n in group])
            x1 = torch.stack([load(os.path.join(args.dir1, n)) for n in group])
            h0, h1 = (x0 - SHIFT) / SCALE, (x1 - SHIFT) / SCALE
            d = 0
            for k in range(taps[-1] + 1):
                h0, h1 = features[k](h0), features[k](h1)
                if k in taps:
                    l = taps.index(k)
                    n0 = h0 / (torch.sqrt(torch.sum(h0**2, dim=1, keepdim=True)) + 1e-10)
                    n1 = h1 / (torch.sqrt(torch.sum(h1**2, dim=1, keepdim=True)) + 1e-10)
                    d = d + F.conv2d((n0 - n1) ** 2, lins[l]).mean(dim=(2, 3))[:, 0]
            dists += d.tolist()
    seconds = time.perf_counter() - start
    print(json.dumps({"pairs": len(dists), "seconds": seconds, "pairs_per_s": len(dists) / seconds, "mean": float(np.mean(dists))}))


if __name__ == "__main__":
    main()
