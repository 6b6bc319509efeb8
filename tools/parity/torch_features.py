#!/usr/bin/env python3
"""Reference features from torchvision, for dpl's parity tests.

Builds a torchvision model with seeded random weights, randomises every BatchNorm's running
statistics and affine parameters (so eval-mode BN is really exercised), saves the state_dict as
a .pth, then saves a seeded input and the features at the requested module indices as .npy.

The study addresses a point as a 0-based index into a module list: the children of
model.features (alexnet, vgg*, densenet*, squeezenet*, efficientnet*) or the model's top-level
children in registration order, auxiliary heads skipped (resnet*, resnext*, googlenet,
inception_v3). Only the modules up to the deepest point run; model.forward is never called.

Networks outside the study address a point by its torchvision module name instead (--modules,
dotted names from named_modules()): model.forward runs with forward hooks on those modules and
stops once all have fired. A 4-D output is NCHW (or NHWC with --layout nhwc, Swin); a 3-D output
is a ViT token row [N, 1 + h*w, C], saved without the class token as the N,C,h,w map of the patch
grid. ViT needs square inputs of its image size: for another size the model is rebuilt with that
image_size and the checkpoint's positional embedding resized by torchvision's interpolate_embeddings.
LayerNorm affine parameters, layer scales, class tokens, Linear/attention biases and Swin's relative
position bias tables are randomised too (their default initialisations are constants or near zero,
which would hide mistakes).

usage: torch_features.py --model vgg16 --indices 3,8,15,29 --sizes 64x64,67x75 --out DIR
       [--seed 0] [--batch 2] [--legacy] [--drop-prefixes classifier.,fc.]
       torch_features.py --model swin_t --modules features.0,features.1 --layout nhwc ...
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
        g2 = torch.Generator().manual_seed(seed + 3)
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g2) * 1.5 + 0.25)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g2) * 0.5)
            if isinstance(m, (torch.nn.Linear, torch.nn.MultiheadAttention)):
                for pn, p in m.named_parameters(recurse=False):
                    if pn.endswith("bias") and p is not None:
                        p.copy_(torch.randn(p.shape, generator=g2) * 0.1)
        for pn, p in model.named_parameters():
            leaf = pn.rsplit(".", 1)[-1]
            if leaf == "layer_scale":
                p.copy_(torch.rand(p.shape, generator=g2) * 0.5 + 0.25)
            elif leaf == "class_token":
                p.copy_(torch.randn(p.shape, generator=g2) * 0.5)
            elif leaf == "relative_position_bias_table":
                # Swin's bias per window offset and head (std 0.02 by default): large enough that a
                # wrong offset index or a missing shift mask shows
                p.copy_(torch.randn(p.shape, generator=g2))
    return model.eval()


class _Stop(Exception):
    pass


def hooked_features(model, names, x, layout, patch):
    """Outputs of the named modules during model(x), as NCHW arrays (see the module docstring)."""
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        sys.exit(f"no module named {', '.join(missing)} in {type(model).__name__}")
    got = {}
    handles = []

    def hook_for(name):
        def hook(_m, _inp, out):
            got[name] = out.detach().clone()
            if len(got) == len(names):
                raise _Stop()
        return hook

    for n in names:
        handles.append(modules[n].register_forward_hook(hook_for(n)))
    try:
        model(x)
    except _Stop:
        pass
    finally:
        for h in handles:
            h.remove()
    h, w = x.shape[2], x.shape[3]
    out = {}
    for n in names:
        y = got[n]
        if y.dim() == 3:
            gh, gw = h // patch, w // patch
            y = y[:, 1:, :].reshape(y.shape[0], gh, gw, y.shape[2]).permute(0, 3, 1, 2)
        elif layout == "nhwc":
            y = y.permute(0, 3, 1, 2)
        out[n] = y.contiguous()
    return out


def model_for_size(model, name, seed, h, w):
    """ViT runs only at its image_size: another square size gets a model with the resized embedding."""
    if not name.startswith("vit_") or (h == model.image_size and w == model.image_size):
        return model
    if h != w or h % model.patch_size:
        sys.exit(f"{name} needs square inputs that are multiples of {model.patch_size}, not {h}x{w}")
    from torchvision.models.vision_transformer import interpolate_embeddings

    torch.manual_seed(seed)
    resized = getattr(torchvision.models, name)(weights=None, image_size=h)
    resized.load_state_dict(interpolate_embeddings(h, model.patch_size, model.state_dict()))
    return resized.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--indices", default="")
    ap.add_argument("--modules", default="", help="dotted torchvision module names (instead of --indices)")
    ap.add_argument("--layout", default="nchw", choices=("nchw", "nhwc"), help="layout of 4-D module outputs")
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
    names = [n for n in args.modules.split(",") if n]
    indices = [int(i) for i in args.indices.split(",") if i]
    if bool(names) == bool(indices):
        sys.exit("give exactly one of --indices and --modules")
    mods = module_list(model, args.model)
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
            if names:
                net = model_for_size(model, args.model, args.seed, h, w)
                feats = hooked_features(net, names, x, args.layout, getattr(model, "patch_size", 1))
                for n, y in feats.items():
                    np.save(os.path.join(args.out, f"feat_{h}x{w}_{n}.npy"), y.numpy().astype(np.float32))
                continue
            y = x
            for i in range(max(indices) + 1):
                y = mods[i](y)
                if i in indices:
                    np.save(os.path.join(args.out, f"feat_{h}x{w}_{i}.npy"), y.numpy().astype(np.float32))
    print("ok", args.out)


if __name__ == "__main__":
    main()
