"""PyTorch reference of the iterative U-Net (docs/PROTOCOL.md section 5), for the parity tests.

Usage: torch_unet.py DIR
  DIR/config.json  {"widths": [4 ints], "downSlope": f, "upSlope": f, "k": K, "official": bool}
  official: blocks built as the study's code builds them (ReLU whenever the slope is non-zero,
    LeakyReLU(slope) otherwise; in-place activations) and only the inference outputs written:
    eval_<i>.npy and batch_<i>.npy (the U-Net left in train mode under no_grad, one image at a
    time, as the study's test script ran it)
  DIR/params/<name>.npy  parameters in dpl's layouts (conv HWIO, transposed conv [kh, kw, out, in])
  DIR/x.npy [N, H, W, 3], DIR/y.npy [N, H, W, 1]  (NHWC)
Writes, in float64 arithmetic:
  DIR/out/eval_<i>.npy    logits of step i in eval mode (NHWC)
  DIR/out/loss.npy        sum_i (i+1) BCE(sigmoid(z_i), y) / (K(K+1)/2), training mode
  DIR/out/grad/<name>.npy gradient of that loss, dpl layout
  DIR/out/state/<name>.npy BatchNorm running statistics after the training-mode pass
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class Block(nn.Module):
    """activation -> 4x4 stride-2 (transposed) convolution without bias -> BatchNorm."""

    def __init__(self, cin, cout, slope, transposed, official=False):
        super().__init__()
        self.slope = slope
        self.official = official
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        self.conv = conv(cin, cout, 4, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        if self.official:
            # the study's UNet_block_creator: `if not leakyReLU == 0: ReLU(inplace) else LeakyReLU(leakyReLU, inplace)`
            x = F.relu(x, inplace=True) if self.slope != 0 else F.leaky_relu(x, self.slope, inplace=True)
        else:
            x = F.relu(x) if self.slope == 0 else F.leaky_relu(x, self.slope)
        return self.bn(self.conv(x))


class UNet(nn.Module):
    def __init__(self, w, down_slope, up_slope, official=False):
        super().__init__()
        o = official
        self.down1 = Block(4, w[0], down_slope, False, o)
        self.down2 = Block(w[0], w[1], down_slope, False, o)
        self.down3 = Block(w[1], w[2], down_slope, False, o)
        self.down4 = Block(w[2], w[3], down_slope, False, o)
        self.up1 = Block(w[3], w[2], up_slope, True, o)
        self.up2 = Block(2 * w[2], w[1], up_slope, True, o)
        self.up3 = Block(2 * w[1], w[0], up_slope, True, o)
        self.up4 = Block(2 * w[0], 1, up_slope, True, o)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(d1)
        d3 = self.down3(d2)
        d4 = self.down4(d3)
        u = self.up1(d4)
        u = self.up2(torch.cat([u, d3], 1))
        u = self.up3(torch.cat([u, d2], 1))
        return self.up4(torch.cat([u, d1], 1))


def torch_name(name):
    return name.replace('.tconv.', '.conv.')


def to_torch(name, a):
    # both dpl conv layouts ([kh, kw, in, out] and [kh, kw, out, in]) map to torch's by (3, 2, 0, 1)
    return np.transpose(a, (3, 2, 0, 1)) if a.ndim == 4 else a


def from_torch(a):
    return np.transpose(a, (2, 3, 1, 0)) if a.ndim == 4 else a


def iterate(net, x, k):
    prev = torch.zeros(x.shape[0], 1, x.shape[2], x.shape[3])
    out = []
    for _ in range(k):
        z = net(torch.cat([x, prev], 1))
        out.append(z)
        prev = torch.sigmoid(z)
    return out


def main():
    d = sys.argv[1]
    cfg = json.load(open(os.path.join(d, 'config.json')))
    official = bool(cfg.get('official', False))
    net = UNet(cfg['widths'], cfg['downSlope'], cfg['upSlope'], official)
    sd = net.state_dict()
    names = [f[:-4] for f in os.listdir(os.path.join(d, 'params'))]
    for n in names:
        a = np.load(os.path.join(d, 'params', n + '.npy')).astype(np.float64)
        t = torch_name(n)
        assert t in sd, t
        assert tuple(sd[t].shape) == to_torch(n, a).shape, (t, sd[t].shape, a.shape)
        sd[t] = torch.from_numpy(np.ascontiguousarray(to_torch(n, a)))
    missing = [k for k in sd if not k.endswith('num_batches_tracked') and k not in {torch_name(n) for n in names}]
    assert not missing, missing
    net.load_state_dict(sd)

    x = torch.from_numpy(np.load(os.path.join(d, 'x.npy')).astype(np.float64)).permute(0, 3, 1, 2)
    y = torch.from_numpy(np.load(os.path.join(d, 'y.npy')).astype(np.float64)).permute(0, 3, 1, 2)
    k = cfg['k']
    out = os.path.join(d, 'out')
    os.makedirs(os.path.join(out, 'grad'), exist_ok=True)
    os.makedirs(os.path.join(out, 'state'), exist_ok=True)

    net.eval()
    with torch.no_grad():
        for i, z in enumerate(iterate(net, x, k)):
            np.save(os.path.join(out, 'eval_%d.npy' % i), z.permute(0, 2, 3, 1).numpy().astype(np.float32))
    if official:
        net.train()
        with torch.no_grad():
            per_image = [iterate(net, x[j : j + 1], k) for j in range(x.shape[0])]
        for i in range(k):
            z = torch.cat([p[i] for p in per_image], 0)
            np.save(os.path.join(out, 'batch_%d.npy' % i), z.permute(0, 2, 3, 1).numpy().astype(np.float32))
        return

    net.train()
    zs = iterate(net, x, k)
    loss = sum((i + 1) * F.binary_cross_entropy(torch.sigmoid(z), y) for i, z in enumerate(zs)) / (k * (k + 1) / 2)
    loss.backward()
    np.save(os.path.join(out, 'loss.npy'), np.array([loss.item()], dtype=np.float32))
    params = dict(net.named_parameters())
    buffers = dict(net.named_buffers())
    for n in names:
        t = torch_name(n)
        if t in params:
            np.save(os.path.join(out, 'grad', n + '.npy'), from_torch(params[t].grad.numpy()).astype(np.float32))
        else:
            np.save(os.path.join(out, 'state', n + '.npy'), buffers[t].numpy().astype(np.float32))


if __name__ == '__main__':
    main()
