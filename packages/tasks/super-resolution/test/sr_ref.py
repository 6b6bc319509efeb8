"""PyTorch / Pillow reference for the super-resolution task's tests.

usage: sr_ref.py degrade <dir>...   # <dir>/job.json: {"files": [...], "hrSize", "scale", "blurRadius", "degradation"?}
       sr_ref.py net <dir>...       # <dir>/net.json: {"scale", "params": [names]}, <name>.npy, x.npy, target.npy
(several job folders per call: importing torch is the slow part)

degrade: for each file, Pillow's pipeline (shorter side -> hrSize bilinear, centre crop, GaussianBlur,
bicubic down), written as hr_<i>.npy / lr_<i>.npy (uint8 HWC), plus bicubic_<i>.npy (LR resized
back up with Pillow's bicubic). With "degradation": "official", the LR image is made as the study's
Super_Resolution_Dataset does it: GaussianBlur of the whole original, then torchvision's
Resize(hrSize // scale, BICUBIC) and CenterCrop(hrSize // scale) on that PIL image.

net: the transform network written independently in torch (Conv2d padding_mode='reflect',
BatchNorm2d, nn.Upsample nearest), weights loaded from our HWIO / [C] arrays; writes
eval.npy (eval-mode output, NHWC), train.npy (train-mode output), grad_<name>.npy (gradients of
mean((train - target)^2), in our layouts) and rm_<name>.npy (running stats after the train pass).
"""
import json
import os
import sys

import numpy as np


def degrade(d):
    from PIL import Image, ImageFilter

    job = json.load(open(os.path.join(d, "job.json")))
    s, scale = job["hrSize"], job["scale"]
    for i, f in enumerate(job["files"]):
        img = Image.open(f).convert("RGB")
        w, h = img.size
        # torchvision Resize(int): shorter side -> s, longer side truncated
        nw, nh = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
        img = img.resize((nw, nh), Image.BILINEAR)
        left, top = int(round((nw - s) / 2.0)), int(round((nh - s) / 2.0))
        hr = img.crop((left, top, left + s, top + s))
        if job.get("degradation") == "official":
            import torchvision.transforms as T

            orig = Image.open(f).convert("RGB")
            blurred = orig.filter(ImageFilter.GaussianBlur(job["blurRadius"])) if job["blurRadius"] > 0 else orig
            side = s // scale
            lr = T.CenterCrop(side)(T.Resize(side, interpolation=T.InterpolationMode.BICUBIC)(blurred))
        else:
            blurred = hr.filter(ImageFilter.GaussianBlur(job["blurRadius"])) if job["blurRadius"] > 0 else hr
            lr = blurred.resize((s // scale, s // scale), Image.BICUBIC)
        bic = lr.resize((s, s), Image.BICUBIC)
        np.save(os.path.join(d, f"hr_{i}.npy"), np.asarray(hr, dtype=np.uint8))
        np.save(os.path.join(d, f"lr_{i}.npy"), np.asarray(lr, dtype=np.uint8))
        np.save(os.path.join(d, f"bicubic_{i}.npy"), np.asarray(bic, dtype=np.uint8))


def net(d):
    import torch
    import torch.nn as nn

    torch.set_num_threads(1)
    job = json.load(open(os.path.join(d, "net.json")))
    scale = job["scale"]

    class ConvBN(nn.Module):
        def __init__(self, cin, cout, k):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, padding_mode="reflect")
            self.bn = nn.BatchNorm2d(cout)

        def forward(self, x):
            return self.bn(self.conv(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = ConvBN(3, 64, 9)
            self.res = nn.ModuleList([nn.ModuleList([ConvBN(64, 64, 3), ConvBN(64, 64, 3)]) for _ in range(4)])
            self.ups = nn.ModuleList([ConvBN(64, 64, 3) for _ in range(int(np.log2(scale)))])
            self.out = ConvBN(64, 3, 9)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")

        def forward(self, x):
            h = torch.relu(self.conv1(x))
            for a, b in self.res:
                h = h + b(torch.relu(a(h)))
            for u in self.ups:
                h = torch.relu(u(self.up(h)))
            return (torch.tanh(self.out(h)) + 1) / 2

    m = Net().double()
    json.dump({"trainable": sum(p.numel() for p in m.parameters())}, open(os.path.join(d, "count.json"), "w"))
    ours = {}
    for i in range(4):
        ours[f"res{i + 1}.a"] = m.res[i][0]
        ours[f"res{i + 1}.b"] = m.res[i][1]
    for i in range(len(m.ups)):
        ours[f"up{i + 1}"] = m.ups[i]
    ours["conv1"], ours["out"] = m.conv1, m.out

    def tensor_of(name):
        layer, kind, field = name.rsplit(".", 2)
        mod = getattr(ours[layer], kind)
        return getattr(mod, field)

    with torch.no_grad():
        for name in job["params"]:
            a = np.load(os.path.join(d, f"{name}.npy")).astype(np.float64)
            if name.endswith("conv.weight"):
                a = a.transpose(3, 2, 0, 1)  # HWIO -> OIHW
            tensor_of(name).copy_(torch.from_numpy(np.ascontiguousarray(a)))

    x = torch.from_numpy(np.load(os.path.join(d, "x.npy")).astype(np.float64)).permute(0, 3, 1, 2)
    target = torch.from_numpy(np.load(os.path.join(d, "target.npy")).astype(np.float64)).permute(0, 3, 1, 2)
    m.eval()
    with torch.no_grad():
        np.save(os.path.join(d, "eval.npy"), m(x).permute(0, 2, 3, 1).numpy().astype(np.float32))
    m.train()
    y = m(x)
    loss = ((y - target) ** 2).mean()
    loss.backward()
    np.save(os.path.join(d, "train.npy"), y.detach().permute(0, 2, 3, 1).numpy().astype(np.float32))
    for name in job["params"]:
        t = tensor_of(name)
        if name.endswith(("running_mean", "running_var")):
            np.save(os.path.join(d, f"rm_{name}.npy"), t.detach().numpy().astype(np.float32))
            continue
        g = t.grad.numpy()
        if name.endswith("conv.weight"):
            g = g.transpose(2, 3, 1, 0)  # OIHW -> HWIO
        np.save(os.path.join(d, f"grad_{name}.npy"), np.ascontiguousarray(g).astype(np.float32))


if __name__ == "__main__":
    for job_dir in sys.argv[2:]:
        {"degrade": degrade, "net": net}[sys.argv[1]](job_dir)
