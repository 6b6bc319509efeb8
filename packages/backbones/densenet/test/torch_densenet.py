#!/usr/bin/env python3
"""DenseNet-specific reference data for dpl's parity tests, from a torchFixture's directory.

  submodules MODEL DIR HxW[,HxW] NAME[,NAME]
      Loads DIR/weights.pth into torchvision's MODEL, runs model.features on DIR/input_HxW.npy and
      saves the output of each named submodule of features (e.g. transition1.relu) as
      DIR/sub_HxW_NAME.npy. These are points inside the study's module list, which
      torch_features.py cannot reach.
  legacy DIR
      Writes DIR/legacy_keys.pth: DIR/weights.pth with the dense-layer keys renamed to the old
      `norm.1` / `conv.2` form and saved in the pre-1.6 (non-zip) format, as the V1 files are.
"""
import os
import re
import sys

import numpy as np
import torch
import torchvision


def submodules(model_name, d, sizes, names):
    model = getattr(torchvision.models, model_name)(weights=None)
    missing, unexpected = model.load_state_dict(torch.load(os.path.join(d, "weights.pth")), strict=False)
    assert not unexpected and all(k.startswith("classifier.") for k in missing), (missing, unexpected)
    model.eval()
    feats = model.features
    got = {}
    for n in names:
        # clone: the in-place ReLUs downstream would overwrite a BN output after the hook ran
        feats.get_submodule(n).register_forward_hook(lambda m, i, o, n=n: got.__setitem__(n, o.detach().clone()))
    with torch.no_grad():
        for size in sizes:
            got.clear()
            x = torch.from_numpy(np.load(os.path.join(d, f"input_{size}.npy")))
            feats(x)
            for n in names:
                np.save(os.path.join(d, f"sub_{size}_{n}.npy"), got[n].numpy().astype(np.float32))


def legacy(d):
    sd = torch.load(os.path.join(d, "weights.pth"))
    pat = re.compile(r"^(.*denselayer\d+\.(?:norm|conv))([12])\.(weight|bias|running_mean|running_var)$")
    # the V1 files predate BatchNorm's num_batches_tracked buffer
    out = {pat.sub(r"\1.\2.\3", k): v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    torch.save(out, os.path.join(d, "legacy_keys.pth"), _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    if sys.argv[1] == "submodules":
        submodules(sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.argv[5].split(","))
    elif sys.argv[1] == "legacy":
        legacy(sys.argv[2])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
    print("ok")
