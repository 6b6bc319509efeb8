#!/usr/bin/env python3
"""The lpips package's forward pass (lpips.LPIPS(net, version, lpips=lin, spatial=...)), written
from its documented behaviour on torchvision networks, in float64, for `dpl similarity --lpips`'s
parity test (docs/LPIPS.md).

The reference, per net (alex, vgg, squeeze = torchvision alexnet, vgg16, squeezenet1_1):
  input in [-1,1] (images in [0,1] are mapped by 2x - 1); version 0.1 applies the ScalingLayer
  (x - shift) / scale, version 0.0 feeds [-1,1] unscaled; the taps are the outputs of
  `features[i]` at the ends of the slices listed in TAPS; each tap is unit-normalised over
  channels, x / (sqrt(sum_c x^2) + 1e-10); the squared difference is summed over channels
  (lpips=False) or weighted by the 1x1 conv lin<i>.model.1 (lpips=True); spatial=False averages
  over space, spatial=True upsamples each tap's map to the input size (bilinear,
  align_corners=False); the taps are summed.

Writes to --out: weights.pth (the seeded torchvision `features` state_dict, plus squeezenet's
classifier.1), lin_v0.1.pth and lin_v0.0.pth (seeded non-negative lin weights in the reference's
file format), x0_<H>x<W>.npy and x1_<H>x<W>.npy (NCHW float32 in [0,1]), and per size, version
and lin: dist_<v>_<lin|base>_<H>x<W>.npy (float64 [N]) and, with --maps,
map_<v>_<lin|base>_<H>x<W>.npy (float64 [N, H, W]).

usage: lpips_forward.py --net alex --out DIR [--seed 0] --sizes 32x40,37x53 [--maps] [--combos 0.1:lin,0.0:base]
"""
import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

# the tap walk and channel normalisation are lpips_ref.py's (same folder, same formula)
from lpips_ref import taps, unit

NETS = {"alex": "alexnet", "vgg": "vgg16", "squeeze": "squeezenet1_1"}
TAPS = {"alex": [1, 4, 7, 9, 11], "vgg": [3, 8, 15, 22, 29], "squeeze": [1, 4, 7, 9, 10, 11, 12]}
# float32 constants widened, as the reference's torch.Tensor buffers are
SHIFT = torch.tensor([-0.030, -0.088, -0.188], dtype=torch.float32).double().view(1, 3, 1, 1)
SCALE = torch.tensor([0.458, 0.448, 0.450], dtype=torch.float32).double().view(1, 3, 1, 1)


def forward(model, net, x0, x1, version, lins, spatial):
    """x0, x1 float64 in [0,1]; returns [N] distances and, when spatial, [N, H, W] maps."""
    ins = [2 * x - 1 for x in (x0, x1)]
    if version == "0.1":
        ins = [(x - SHIFT) / SCALE for x in ins]
    f0, f1 = (taps(model.features, x, TAPS[net]) for x in ins)
    dist, up = 0, 0
    for i, (a, b) in enumerate(zip(f0, f1)):
        d = (unit(a) - unit(b)) ** 2
        m = d.sum(dim=1, keepdim=True) if lins is None else F.conv2d(d, lins[i])
        dist = dist + m.mean(dim=(2, 3))[:, 0]
        if spatial:
            up = up + F.interpolate(m, size=x0.shape[2:], mode="bilinear", align_corners=False)[:, 0]
    return dist, (up if spatial else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", required=True, choices=sorted(NETS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", required=True, help="comma list of HxW")
    ap.add_argument("--maps", action="store_true")
    ap.add_argument("--combos", default="0.1:lin,0.1:base,0.0:lin,0.0:base", help="comma list of <version>:<lin|base>")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    torch.manual_seed(args.seed)
    model = getattr(torchvision.models, NETS[args.net])(weights=None).eval()
    keep = ("features.", "classifier.1.") if args.net == "squeeze" else ("features.",)
    torch.save({k: v for k, v in model.state_dict().items() if k.startswith(keep)}, os.path.join(args.out, "weights.pth"))

    g = torch.Generator().manual_seed(args.seed + 1)
    with torch.no_grad():
        chans = [t.shape[1] for t in taps(model.features, torch.zeros(1, 3, 64, 64), TAPS[args.net])]
    lins = {}
    for v in ("0.1", "0.0"):
        ws = [torch.rand(1, c, 1, 1, generator=g) * 0.5 for c in chans]
        for w in ws:
            w[0, :3] = 0  # exact zeros, as the reference's clamp leaves
        torch.save({f"lin{i}.model.1.weight": w for i, w in enumerate(ws)}, os.path.join(args.out, f"lin_v{v}.pth"))
        lins[v] = [w.double() for w in ws]

    model.double()
    for size in args.sizes.split(","):
        h, w = (int(s) for s in size.split("x"))
        x0 = torch.rand(1, 3, h, w, generator=g)
        x1 = (x0 + 0.2 * torch.randn(1, 3, h, w, generator=g)).clamp(0, 1)
        np.save(os.path.join(args.out, f"x0_{size}.npy"), x0.numpy())
        np.save(os.path.join(args.out, f"x1_{size}.npy"), x1.numpy())
        with torch.no_grad():
            for v, tag in (c.split(":") for c in args.combos.split(",")):
                lw = lins[v] if tag == "lin" else None
                d, m = forward(model, args.net, x0.double(), x1.double(), v, lw, args.maps)
                np.save(os.path.join(args.out, f"dist_{v}_{tag}_{size}.npy"), d.numpy())
                if m is not None:
                    np.save(os.path.join(args.out, f"map_{v}_{tag}_{size}.npy"), m.numpy())
    print("ok", args.out)


if __name__ == "__main__":
    main()
