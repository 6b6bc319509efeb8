#!/usr/bin/env python3
"""Reference features from torchvision, for dpl's parity tests.

Builds a torchvision model with seeded random weights, randomises every BatchNorm's running
statistics and affine parameters (so eval-mode BN is really exercised), saves the state_dict as
a .pth, then saves a seeded input and the features at the requested module indices as .npy.

The study addresses a point as a 0-based index into a module list: the children of
model.features (alexnet, vgg*, densenet*, squeezenet*, efficientnet*) or the model's top-level
children in registration order, auxiliary heads skipped (resnet*, resnext*, googlenet,
inception_v3). Only the modules up to the deepest point run; model.forward is never called.

usage: torch_features.py --model vgg16 --indices 3,8,15,29 --sizes 64x64,67x75 --out DIR
       [--seed 0] [--batch 2] [--legacy] [--drop-prefixes classifier.,fc.]
"""
import argparse
import os
import sys

import numpy as np
import torch
import torchvision

FEATURES_LIST = ("alexnet", "vgg", "densenet", "squeezenet", "efficientnet")
AUX = ("AuxLogits", "aux1", "aux2")


def module_list(model, name):
    if name.startswith(FEATURES_LIST):
        return list(model.features.children())
    return [m for n, m in model.named_children() if n not in AUX]


def build(name, seed):
    torch.manual_seed(seed)
    kwargs = {"weights": None}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    model = getattr(torchvision.models, name)(**kwargs)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.25)
                m.weight.copy_(torch.rand(c, generator=g) * 1.5 + 0.25)
                m.bias.copy_(torch.randn(c, generator=g) * 0.5)
    return model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--indices", required=True)
    ap.add_argument("--sizes", required=True, help="HxW[,HxW...]")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--legacy", action="store_true", help="write the pre-1.6 (non-zip) format")
    ap.add_argument("--drop-prefixes", default="", help="comma-separated state_dict key prefixes to leave out (big classifier heads)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)

    model = build(args.model, args.seed)
    mods = module_list(model, args.model)
    indices = [int(i) for i in args.indices.split(",")]
    sd = model.state_dict()
    if args.drop_prefixes:
        drop = tuple(p for p in args.drop_prefixes.split(",") if p)
        sd = {k: v for k, v in sd.items() if not k.startswith(drop)}
    torch.save(sd, os.path.join(args.out, "weights.pth"), _use_new_zipfile_serialization=not args.legacy)

    g = torch.Generator().manual_seed(args.seed + 2)
    with torch.no_grad():
        for size in args.sizes.split(","):
            h, w = (int(v) for v in size.split("x"))
            x = torch.rand(args.batch, 3, h, w, generator=g)
            np.save(os.path.join(args.out, f"input_{h}x{w}.npy"), x.numpy())
            y = x
            for i in range(max(indices) + 1):
                y = mods[i](y)
                if i in indices:
                    np.save(os.path.join(args.out, f"feat_{h}x{w}_{i}.npy"), y.numpy().astype(np.float32))
    print("ok", args.out)


if __name__ == "__main__":
    main()
