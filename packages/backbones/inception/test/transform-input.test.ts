/** transformInput equals torchvision's _transform_input (GoogLeNet and Inception v3 share it). */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readNpy, writeNpy } from '@dpl/core';
import { referencePython, relativeMaxError, torchAvailable } from '@dpl/core/testkit';
import { transformInput } from '../src/transform-input';

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED transformInput parity with torchvision: ${torch.reason}`);
const maybe = torch.ok ? it : it.skip;
const IDS = ['googlenet', 'inception_v3'];

describe('transformInput', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('maps ImageNet normalisation to (x - 0.5) / 0.5 and keeps the shape', () => {
    // an image in [0,1], ImageNet-normalised, must come out as (img - 0.5) / 0.5
    const img = tf.randomUniform([1, 3, 4, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const norm = tf.div(tf.sub(img, [0.485, 0.456, 0.406]), [0.229, 0.224, 0.225]) as tf.Tensor4D;
    const out = transformInput(norm);
    const want = tf.div(tf.sub(img, 0.5), 0.5);
    expect(out.shape).toEqual([1, 3, 4, 3]);
    expect(tf.max(tf.abs(tf.sub(out, want))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([img, norm, out, want]);
  });

  it('is differentiable: the input gradient is the per-channel scale std / 0.5', () => {
    const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    const g = tf.grad((v: tf.Tensor) => tf.sum(transformInput(v as tf.Tensor4D)))(x);
    const got = Array.from(g.dataSync().slice(0, 3));
    [0.458, 0.448, 0.45].forEach((s, i) => expect(got[i]).toBeCloseTo(s, 6));
    tf.dispose([x, g]);
  });

  maybe(`equals torchvision's _transform_input (${IDS.join(', ')}, transform_input=True)`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-transform-'));
    const x = tf.randomNormal([2, 5, 7, 3], 0, 1.5, 'float32', 11) as tf.Tensor4D;
    const nchw = tf.transpose(x, [0, 3, 1, 2]);
    const ours = tf.transpose(transformInput(x), [0, 3, 1, 2]);
    try {
      fs.writeFileSync(path.join(dir, 'x.npy'), writeNpy(nchw.shape, (await nchw.data()) as Float32Array));
      // one python process for both models: importing torch dominates the cost
      const code = `
import os, sys, numpy as np, torch, torchvision
d = sys.argv[1]
x = torch.from_numpy(np.load(os.path.join(d, 'x.npy')))
for id in sys.argv[2:]:
    m = getattr(torchvision.models, id)(weights=None, aux_logits=False, init_weights=False, transform_input=True)
    np.save(os.path.join(d, id + '.npy'), m._transform_input(x).numpy())`;
      const r = spawnSync(referencePython().python, ['-c', code, dir, ...IDS], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
      const data = (await ours.data()) as Float32Array;
      for (const id of IDS) {
        const ref = readNpy(fs.readFileSync(path.join(dir, `${id}.npy`)), id);
        expect(ours.shape).toEqual(ref.shape);
        const err = relativeMaxError(data, ref.data);
        console.log(`transformInput vs ${id}._transform_input: max abs ${err.maxAbs.toExponential(2)}, rel ${err.rel.toExponential(2)}`);
        expect(err.rel).toBeLessThanOrEqual(1e-6);
      }
    } finally {
      tf.dispose([x, nchw, ours]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
