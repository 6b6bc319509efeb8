#!/usr/bin/env python3
"""Reference LPIPS-style distances from torchvision features, for dpl's perceptual tests.

Written from the formula (Zhang et al. 2018, docs/PROTOCOL.md section 3), not from the lpips package:
for each point l the features are unit-normalised over channels, x / (sqrt(sum_c x^2) + 1e-10),
the two normalised maps are subtracted and squared, the channels are summed (`baseline`) or
weighted by a non-negative 1x1 conv without bias (`lin`), the result is averaged over space, and
the points are summed. Points are the outputs of `model.features[i]` at LPIPS's slice ends.
Everything is computed in float64 (from float32 weights and inputs).

For each model it writes to --out/<model>/ (one process for all models: torch starts once):
  weights.pth             the model's `features` state_dict (+ squeezenet's classifier.1 conv):
                          seeded random torchvision weights (torch.manual_seed(seed) before
                          construction), or those of --weights
  x0.npy, x1.npy          a seeded batch of image pairs, NCHW, values in [0,1], at --in-size
  lin_<l>.npy             seeded non-negative channel weights per point (float32, [C])
  lin.pth / lin_legacy.pth  those weights as an LPIPS v0.1 checkpoint ({'lin<l>.model.1.weight':
                          [1, C, 1, 1]}), zip and pre-1.6 formats
  lin_missing.pth         the checkpoint without its last lin
  lin_badchannels.pth     the checkpoint with one channel too many in lin1
  <variant>_<norm>.npy    per-point, per-sample distances [L, N] for variant baseline|lin and input
                          normalisation imagenet ((x - mean) / std on [0,1]) | lpips (LPIPS's
                          ScalingLayer on [-1,1]); the images are first resized to --size with
                          F.interpolate(bilinear, align_corners=False)
  map_lin_imagenet.npy    LPIPS's spatial map for lin/imagenet: each point's map upsampled
                          (bilinear, align_corners=False) to --size and summed, [N, 1, H, W]
  grad_x0_baseline_imagenet_upto<l>.npy  d/d x0 of the baseline/imagenet distance summed over
                          the samples and points 0..l, [N, 3, h, w] (at --in-size)

usage: lpips_ref.py --models alexnet,vgg16,squeezenet1_1 --out DIR [--weights FILE (one model)]
       [--seed 0] [--batch 3] [--in-size 48x80] [--size 64]
"""
import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

# torchvision module indices (children of model.features) whose outputs LPIPS compares
LPIPS_INDICES = {
    "alexnet": [1, 4, 7, 9, 11],
    "vgg16": [3, 8, 15, 22, 29],
    "squeezenet1_1": [1, 4, 7, 9, 10, 11, 12],
}
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
LPIPS_SHIFT = [-0.030, -0.088, -0.188]
LPIPS_SCALE = [0.458, 0.448, 0.450]
EPS = 1e-10


def per_channel(values):
    # the constants as float32 (then widened): the function dpl computes in float32. Exact float64
    # constants move the network input by ~1e-7, enough to flip near-tied max-pool windows and
    # change vgg16's input gradient by ~3e-4 relative.
    return torch.tensor(values, dtype=torch.float32).double().view(1, 3, 1, 1)


def to_network(x01, norm):
    if norm == "imagenet":
        return (x01 - per_channel(IMAGENET_MEAN)) / per_channel(IMAGENET_STD)
    xm1 = x01 * 2 - 1
    return (xm1 - per_channel(LPIPS_SHIFT)) / per_channel(LPIPS_SCALE)


def taps(features, x, indices):
    out = []
    for i in range(max(indices) + 1):
        x = features[i](x)
        if i in indices:
            out.append(x)
    return out


def unit(f):
    return f / (torch.sqrt(torch.sum(f * f, dim=1, keepdim=True)) + EPS)


def point_maps(f0, f1, lins):
    """Per point [N, 1, h, w]: channel sum (lins None) or 1x1 weighting of the squared difference."""
    maps = []
    for l, (a, b) in enumerate(zip(f0, f1)):
        d = (unit(a) - unit(b)) ** 2
        if lins is None:
            maps.append(d.sum(dim=1, keepdim=True))
        else:
            maps.append(F.conv2d(d, lins[l].view(1, -1, 1, 1)))
    return maps


def build(name, seed, weights):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    if weights:
        missing, _ = model.load_state_dict(torch.load(weights), strict=False)
        if any(k.startswith("features.") for k in missing):
            raise SystemExit(f"{weights} lacks feature weights: {missing}")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="comma list of " + ", ".join(sorted(LPIPS_INDICES)))
    ap.add_argument("--weights", help="a torchvision state_dict to use instead of seeded weights (one model only)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--in-size", default="48x80")
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    models = args.models.split(",")
    unknown = [m for m in models if m not in LPIPS_INDICES]
    if unknown or (args.weights and len(models) != 1):
        raise SystemExit(f"bad --models {args.models} (known: {sorted(LPIPS_INDICES)}; --weights needs exactly one)")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name in models:
        reference(name, args)
    print("ok", args.out)


def reference(name, args):
    out = os.path.join(args.out, name)
    os.makedirs(out, exist_ok=True)
    save = lambda file, t: np.save(os.path.join(out, file), t.detach().numpy().astype(np.float32))

    model = build(name, args.seed, args.weights)
    # features only, but squeezenet's classifier.1 is a 1x1 conv dpl's graph includes
    keep = ("features.", "classifier.1.") if name.startswith("squeezenet") else ("features.",)
    sd = {k: v for k, v in model.state_dict().items() if k.startswith(keep)}
    torch.save(sd, os.path.join(out, "weights.pth"))
    indices = LPIPS_INDICES[name]

    g = torch.Generator().manual_seed(args.seed + 1)
    h, w = (int(v) for v in args.in_size.split("x"))
    x0 = torch.rand(args.batch, 3, h, w, generator=g)
    # x1: a perturbed x0 (nearby, like a distortion), kept in [0,1]
    x1 = (x0 + 0.25 * torch.randn(args.batch, 3, h, w, generator=g)).clamp(0, 1)
    save("x0.npy", x0)
    save("x1.npy", x1)

    with torch.no_grad():
        chans = [f.shape[1] for f in taps(model.features, torch.zeros(1, 3, args.size, args.size), indices)]
    lins = [torch.rand(c, generator=g) * 0.5 for c in chans]
    # a few exact zeros, as the LPIPS clamp produces
    for lw in lins:
        lw[:3] = 0
    ckpt = {f"lin{l}.model.1.weight": lw.view(1, -1, 1, 1).clone() for l, lw in enumerate(lins)}
    for l, lw in enumerate(lins):
        save(f"lin_{l}.npy", lw)
    torch.save(ckpt, os.path.join(out, "lin.pth"))
    torch.save(ckpt, os.path.join(out, "lin_legacy.pth"), _use_new_zipfile_serialization=False)
    last = f"lin{len(lins) - 1}.model.1.weight"
    torch.save({k: v for k, v in ckpt.items() if k != last}, os.path.join(out, "lin_missing.pth"))
    bad = dict(ckpt)
    bad["lin1.model.1.weight"] = torch.rand(1, chans[1] + 1, 1, 1, generator=g)
    torch.save(bad, os.path.join(out, "lin_badchannels.pth"))

    # the reference computes in float64: float32 torch's own input gradient is ~0.6% off its
    # float64 one for vgg16 (near-tied max-pool windows flip), too noisy for a 1e-4 criterion
    model.double()
    lins = [lw.double() for lw in lins]
    x0g = x0.double().requires_grad_(True)
    x1 = x1.double()
    size = (args.size, args.size)
    resized = [F.interpolate(x, size=size, mode="bilinear", align_corners=False) for x in (x0g, x1)]
    for norm in ("imagenet", "lpips"):
        f0, f1 = (taps(model.features, to_network(x, norm), indices) for x in resized)
        for variant, weights in (("baseline", None), ("lin", lins)):
            maps = point_maps(f0, f1, weights)
            per_point = torch.stack([m.mean(dim=(1, 2, 3)) for m in maps])  # [L, N]
            save(f"{variant}_{norm}.npy", per_point)
            if variant == "lin" and norm == "imagenet":
                up = [F.interpolate(m, size=size, mode="bilinear", align_corners=False) for m in maps]
                save("map_lin_imagenet.npy", sum(up))
            if variant == "baseline" and norm == "imagenet":
                # for each prefix of the points: a max-pool window whose top two values are tied
                # to float32 precision may pick its maximum differently at float32, so deep
                # prefixes can legitimately differ; the caller chooses how deep to compare
                for l in range(len(indices)):
                    (grad,) = torch.autograd.grad(per_point[: l + 1].sum(), x0g, retain_graph=True)
                    save(f"grad_x0_baseline_imagenet_upto{l}.npy", grad)


if __name__ == "__main__":
    main()
