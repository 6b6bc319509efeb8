#!/usr/bin/env python3
"""One super-resolution training step in PyTorch, the reference for tools/bench/sr-step.js.

The Johnson et al. transform network (docs/PROTOCOL.md section 4, x4) trained through a frozen VGG16 cut
at relu2_2 (features[:9], seeded random weights: only the time matters), Adam lr 1e-3, batch 4,
MSE between features; timed per step (forward, backward, update), warm-up excluded, median of
RUNS. Prints one JSON line per size: {"size": [lr, hr], "ms": median, "runs": n, "threads": t}.

usage: /usr/bin/python3 tools/bench/sr_step_torch.py   env: SIZES=72,16 RUNS=5 THREADS=2 BATCH=4
"""
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torchvision


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, padding_mode="reflect")
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class TransformNet(nn.Module):
    def __init__(self, ups=2):
        super().__init__()
        self.conv1 = ConvBN(3, 64, 9)
        self.res = nn.ModuleList([nn.ModuleList([ConvBN(64, 64, 3), ConvBN(64, 64, 3)]) for _ in range(4)])
        self.ups = nn.ModuleList([ConvBN(64, 64, 3) for _ in range(ups)])
        self.out = ConvBN(64, 3, 9)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        h = torch.relu(self.conv1(x))
        for a, b in self.res:
            h = h + b(torch.relu(a(h)))
        for u in self.ups:
            h = torch.relu(u(self.up(h)))
        return (torch.tanh(self.out(h)) + 1) / 2


def main():
    threads = int(os.environ.get("THREADS", "2"))
    runs = int(os.environ.get("RUNS", "5"))
    batch = int(os.environ.get("BATCH", "4"))
    sizes = [int(s) for s in os.environ.get("SIZES", "72,16").split(",")]
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    loss_net = torchvision.models.vgg16().features[:9].eval()  # up to relu2_2
    for p in loss_net.parameters():
        p.requires_grad_(False)
    for lr_side in sizes:
        hr_side = lr_side * 4
        net = TransformNet().train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x = torch.rand(batch, 3, lr_side, lr_side)
        with torch.no_grad():
            target = loss_net(torch.rand(batch, 3, hr_side, hr_side))

        def step():
            t = time.perf_counter()
            opt.zero_grad()
            loss = ((loss_net(net(x)) - target) ** 2).mean()
            loss.backward()
            opt.step()
            loss.item()
            return (time.perf_counter() - t) * 1000

        step()  # warm-up
        times = [step() for _ in range(runs)]
        print(json.dumps({"size": [lr_side, hr_side], "ms": round(statistics.median(times), 1), "runs": runs, "threads": threads,
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
