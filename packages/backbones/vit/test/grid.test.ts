/**
 * Non-square patch grids against PyTorch. torchvision's ViT only takes square inputs (its
 * interpolate_embeddings resizes the positional embedding to a square grid), so the parity harness
 * checks square sizes; dpl resizes to any grid. Here torch runs vit_b_16's own modules on a 48x80
 * input (a 3x5 grid) with the embedding's patch part resized exactly as interpolate_embeddings does
 * it (bicubic, align_corners=True) but to (3, 5), and dpl's points must match: the embedded tokens,
 * a middle block and encoder.ln. 50x90 gives the same grid with pixels the patch conv does not read.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readWeights } from '@dpl/core';
import { npyRef, referencePython, relativeMaxError, torchFixture } from '@dpl/core/testkit';
import { vitBackbones } from '../src/vit';

const py = referencePython();
if (!py.ok) console.warn(`SKIPPED vit non-square grid parity: ${py.reason}`);

const SCRIPT = `
import sys, numpy as np, torch, torchvision
import torch.nn.functional as F
weights, out = sys.argv[1], sys.argv[2]
m = torchvision.models.vit_b_16()
m.load_state_dict(torch.load(weights), strict=False)
m.eval()
g = torch.Generator().manual_seed(5)
with torch.no_grad():
    for h, w in ((48, 80), (50, 90)):
        x = torch.rand(2, 3, h, w, generator=g)
        np.save(f"{out}/input_{h}x{w}.npy", x.numpy())
        p = m.conv_proj(x[:, :, : h // 16 * 16, : w // 16 * 16])
        gh, gw = p.shape[2], p.shape[3]
        t = torch.cat([m.class_token.expand(2, -1, -1), p.flatten(2).transpose(1, 2)], 1)
        pe = m.encoder.pos_embedding
        grid = pe[:, 1:].reshape(1, 14, 14, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=True)
        t = t + torch.cat([pe[:, :1], grid.reshape(1, -1, gh * gw).permute(0, 2, 1)], 1)
        def save(name, y):
            np.save(f"{out}/{name}_{h}x{w}.npy", y[:, 1:].reshape(2, gh, gw, -1).permute(0, 3, 1, 2).numpy())
        save("embed", t)
        for i, layer in enumerate(m.encoder.layers):
            t = layer(t)
            if i == 5:
                save("block6", t)
        save("norm", m.encoder.ln(t))
`;

beforeAll(async () => {
  await initBackend('wasm');
});

(py.ok ? it : it.skip)(
  'vit_b_16 on 3x5 patch grids (48x80, 50x90) equals torch with the embedding resized to (3, 5)',
  async () => {
    const fx = torchFixture({ model: 'vit_b_16', modules: ['conv_proj'], sizes: [[32, 32]], dropPrefixes: ['heads.'] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-vit-grid-'));
    const b = vitBackbones().find((x) => x.id === 'vit_b_16')!;
    const ex = b.build({ weights: await readWeights(fx.weights), weightsSource: { file: fx.weights } });
    try {
      const r = spawnSync(py.python, ['-c', SCRIPT, fx.weights, dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`reference script failed: ${r.stderr}`);
      const report: string[] = [];
      for (const [h, w] of [
        [48, 80],
        [50, 90],
      ]) {
        const x = await readInputTensor(path.join(dir, `input_${h}x${w}.npy`));
        const feats = ex.extract(x, ['embed', 'block6', 'norm']);
        for (const [name, t] of feats) {
          const ours = tf.transpose(t, [0, 3, 1, 2]);
          const ref = npyRef(path.join(dir, `${name}_${h}x${w}.npy`));
          expect(ours.shape).toEqual(ref.shape);
          const err = relativeMaxError((await ours.data()) as Float32Array, ref.data);
          report.push(`${name} @${h}x${w}: rel ${err.rel.toExponential(2)}`);
          expect(err.rel).toBeLessThan(1e-4);
          ours.dispose();
        }
        tf.dispose([x, ...feats.values()]);
      }
      console.log(report.join('\n'));
    } finally {
      ex.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  300_000,
);
