/**
 * PyTorch (float64, CPU) values and gradients for batches of conv / conv-transpose / pad cases,
 * computed by the reference interpreter. Arrays cross as flat lists in our NHWC / tfjs layouts.
 */
import { runPython } from './harness';

export interface TorchCase {
  op: 'conv' | 'convT' | 'pad';
  x: number[];
  xShape: number[];
  /** conv: HWIO [kh,kw,in/g,out]; convT: [kh,kw,out,in] */
  w?: number[];
  wShape?: number[];
  b?: number[] | null;
  stride?: [number, number];
  pad?: [number, number];
  dilation?: [number, number];
  groups?: number;
  outputPadding?: [number, number];
  /** pad: [top, bottom, left, right] */
  pads?: [number, number, number, number];
  mode?: string;
  value?: number;
  dy: number[];
}

export interface TorchResult {
  y: number[];
  yShape: number[];
  dx: number[];
  dw: number[] | null;
  db: number[] | null;
}

const SCRIPT = String.raw`
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
def t(a, shape): return torch.tensor(a, dtype=torch.float64).reshape(shape)
out = []
for c in json.load(sys.stdin):
    x = t(c['x'], c['xShape']).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    w = b = None
    if c['op'] == 'conv':
        w = t(c['w'], c['wShape']).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    elif c['op'] == 'convT':
        w = t(c['w'], c['wShape']).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    if c.get('b') is not None:
        b = torch.tensor(c['b'], dtype=torch.float64).requires_grad_(True)
    if c['op'] == 'conv':
        y = F.conv2d(x, w, b, stride=c['stride'], padding=c['pad'], dilation=c['dilation'], groups=c['groups'])
    elif c['op'] == 'convT':
        y = F.conv_transpose2d(x, w, b, stride=c['stride'], padding=c['pad'], output_padding=c['outputPadding'],
                               dilation=c['dilation'])
    else:
        tp, bt, l, r = c['pads']
        y = F.pad(x, (l, r, tp, bt), mode=c['mode'], value=c['value']) if c['mode'] == 'constant' \
            else F.pad(x, (l, r, tp, bt), mode=c['mode'])
    yn = y.permute(0, 2, 3, 1)
    dy = t(c['dy'], list(yn.shape))
    (yn * dy).sum().backward()
    res = {'y': yn.detach().reshape(-1).tolist(), 'yShape': list(yn.shape),
           'dx': x.grad.permute(0, 2, 3, 1).reshape(-1).tolist(), 'dw': None, 'db': None}
    if w is not None:
        res['dw'] = w.grad.permute(2, 3, 1, 0).reshape(-1).tolist()
    if b is not None:
        res['db'] = b.grad.tolist()
    out.append(res)
json.dump(out, sys.stdout)
`;

export function torchRef(cases: TorchCase[]): TorchResult[] {
  return runPython<TorchResult[]>(SCRIPT, cases);
}
