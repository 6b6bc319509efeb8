"""Reference autoencoder in PyTorch, written from docs/PROTOCOL.md section 6, for the parity test.

usage: autoencoder_ref.py JOBS_JSON ENC DEC CODE
  JOBS_JSON: a list of {"ckpt", "input", "out", "side"}: a dpl checkpoint (safetensors, dpl
  layouts: conv HWIO, transposed conv [kh, kw, out, in], linear [in, out]), NCHW float32 input
  images (.npy), an output folder and the image side; ENC / DEC: comma lists.
Writes <out>/recon.npy (NCHW) and <out>/code.npy per job and prints one JSON line with each
job's parameter count and output shape, and the paper shape's parameter counts at 64 and 96. dpl flattens NHWC, so the
reference permutes to NHWC before its flatten and after its reshape.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype='<f4').reshape(v['shape']).copy()
    return out


class AE(nn.Module):
    def __init__(self, H, enc, dec, code):
        super().__init__()
        self.g = (H - 64) // 16 + 1
        layers, cin = [], 3
        for c in enc:
            layers += [nn.Conv2d(cin, c, 4, 2), nn.BatchNorm2d(c), nn.ReLU()]
            cin = c
        self.enc = nn.Sequential(*layers)
        side = H
        for _ in range(4):
            side = (side - 4) // 2 + 1
        self.code = nn.Linear(side * side * cin, code)
        self.c0 = dec[0]
        self.lin = nn.Linear(code, dec[0] * self.g * self.g)
        layers, cin = [], dec[0]
        for c, k in zip(dec[1:], [5, 5, 6]):
            layers += [nn.ConvTranspose2d(cin, c, k, 2), nn.BatchNorm2d(c), nn.ReLU()]
            cin = c
        layers += [nn.ConvTranspose2d(cin, 3, 6, 2), nn.Sigmoid()]
        self.dec = nn.Sequential(*layers)

    def forward(self, x):
        z = self.code(self.enc(x).permute(0, 2, 3, 1).flatten(1))
        h = torch.relu(self.lin(z)).view(-1, self.g, self.g, self.c0).permute(0, 3, 1, 2)
        return self.dec(h), z


def load(model, sd):
    names = {'code': model.code, 'dec.linear': model.lin}
    for i in range(4):
        names[f'enc{i + 1}'] = model.enc[3 * i]
        names[f'enc{i + 1}.bn'] = model.enc[3 * i + 1]
    for i in range(3):
        names[f'dec{i + 1}'] = model.dec[3 * i]
        names[f'dec{i + 1}.bn'] = model.dec[3 * i + 1]
    names['dec4'] = model.dec[9]
    used = set()
    for prefix, mod in names.items():
        for pname, p in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
            key = f'{prefix}.{pname}'
            if key not in sd:
                continue  # num_batches_tracked
            v = torch.from_numpy(sd[key])
            if pname == 'weight' and v.dim() == 4:
                v = v.permute(3, 2, 0, 1)  # HWIO -> OIHW; [kh,kw,out,in] -> [in,out,kh,kw]
            elif pname == 'weight' and v.dim() == 2:
                v = v.t()
            assert tuple(v.shape) == tuple(p.shape), (key, v.shape, p.shape)
            p.data.copy_(v)
            used.add(key)
    missing = set(sd) - used
    assert not missing, missing


def count(model):
    return sum(p.numel() for p in model.parameters())


jobs = json.loads(sys.argv[1])
enc = [int(v) for v in sys.argv[2].split(',')]
dec = [int(v) for v in sys.argv[3].split(',')]
code = int(sys.argv[4])
results = []
for job in jobs:
    model = AE(job['side'], enc, dec, code).eval()
    load(model, read_safetensors(job['ckpt']))
    with torch.no_grad():
        y, z = model(torch.from_numpy(np.load(job['input'])))
    np.save(f"{job['out']}/recon.npy", y.numpy().astype(np.float32))
    np.save(f"{job['out']}/code.npy", z.numpy().astype(np.float32))
    results.append({'params': count(model), 'out_shape': list(y.shape)})
paper = {h: count(AE(h, [32, 64, 128, 256], [1024, 128, 64, 32], 64)) for h in (64, 96)}
print(json.dumps({'jobs': results, 'paper_params': paper}))
