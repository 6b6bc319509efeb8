import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, ParamStore, readNpy, writeNpy } from '@dpl/core';
import {
  buildAutoencoder,
  decoderSides,
  encode,
  encoderSides,
  gridSize,
  PAPER_SHAPE,
  reconstruct,
  type AutoencoderShape,
} from '../src/model';
import { python, pythonHas, tmp, cleanupTmp } from './helpers';

const TINY: AutoencoderShape = { encoderChannels: [4, 6, 8, 8], decoderChannels: [16, 8, 6, 4], codeSize: 10 };
const hasTorch = pythonHas('torch');
if (!hasTorch) console.warn('autoencoder model parity tests skipped: the reference Python cannot import torch');
const withTorch = hasTorch ? it : it.skip;

beforeAll(async () => {
  await initBackend('wasm');
});

describe('autoencoder sizes', () => {
  it('reconstructs 64 (g = 1) and 96 (g = 3) at their own size', () => {
    expect(encoderSides(64)).toEqual([64, 31, 14, 6, 2]);
    expect(decoderSides(gridSize(64))).toEqual([1, 5, 13, 30, 64]);
    expect(encoderSides(96)).toEqual([96, 47, 22, 10, 4]);
    expect(decoderSides(gridSize(96))).toEqual([3, 9, 21, 46, 96]);
    for (const side of [64, 96]) {
      const store = new ParamStore(1);
      buildAutoencoder(store, side, TINY);
      const y = tf.tidy(() => reconstruct(store, tf.randomUniform([2, side, side, 3], 0, 1, 'float32', 3) as tf.Tensor4D, false, TINY));
      expect(y.shape).toEqual([2, side, side, 3]);
      const v = y.dataSync();
      expect(v.every((p) => p > 0 && p < 1)).toBe(true); // sigmoid output
      y.dispose();
      store.dispose();
    }
  });

  it('refuses sizes it cannot reconstruct, naming the valid ones', () => {
    for (const side of [32, 48, 70, 100]) expect(() => gridSize(side)).toThrow(/64 \+ 16k/);
    expect(gridSize(80)).toBe(2);
    expect(gridSize(128)).toBe(5);
  });
});

describe('autoencoder parity with a PyTorch reference (eval mode)', () => {
  withTorch('sides 64 and 96: same code and reconstruction as torch with the same weights; same parameter counts', async () => {
    const sides = [64, 96];
    const dir = tmp('dpl-ae-ref-');
    const stores = sides.map((s) => new ParamStore(s));
    const inputs = sides.map((s) => tf.randomUniform([2, s, s, 3], 0, 1, 'float32', s) as tf.Tensor4D);
    const jobs = [];
    for (let i = 0; i < sides.length; i++) {
      const [side, store] = [sides[i], stores[i]];
      buildAutoencoder(store, side, TINY);
      // non-trivial BatchNorm statistics and affine parameters
      for (const name of store.names().filter((n) => n.includes('.bn.'))) {
        const v = store.get(name);
        const lo = name.endsWith('running_var') || name.endsWith('.weight') ? 0.5 : -0.3;
        tf.tidy(() => v.assign(tf.randomUniform(v.shape, lo, lo + 1, 'float32', name.length)));
      }
      const out = path.join(dir, String(side));
      fs.mkdirSync(out);
      await store.save(path.join(out, 'ae.safetensors'));
      fs.writeFileSync(
        path.join(out, 'x.npy'),
        writeNpy([2, 3, side, side], tf.tidy(() => tf.transpose(inputs[i], [0, 3, 1, 2])).dataSync() as Float32Array),
      );
      jobs.push({ ckpt: path.join(out, 'ae.safetensors'), input: path.join(out, 'x.npy'), out, side });
    }
    const ref = JSON.parse(
      python(fs.readFileSync(path.join(__dirname, 'ref', 'autoencoder_ref.py'), 'utf8'), [
        JSON.stringify(jobs),
        TINY.encoderChannels.join(','),
        TINY.decoderChannels.join(','),
        String(TINY.codeSize),
      ]),
    );
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
      return m;
    };
    for (let i = 0; i < sides.length; i++) {
      const side = sides[i];
      expect(ref.jobs[i].out_shape).toEqual([2, 3, side, side]);
      expect(stores[i].count()).toBe(ref.jobs[i].params);
      const y = tf.tidy(() => tf.transpose(reconstruct(stores[i], inputs[i], false, TINY), [0, 3, 1, 2]));
      const z = tf.tidy(() => encode(stores[i], inputs[i], false, TINY));
      const dy = maxDiff(y.dataSync(), readNpy(fs.readFileSync(path.join(jobs[i].out, 'recon.npy')), 'recon.npy').data);
      const dz = maxDiff(z.dataSync(), readNpy(fs.readFileSync(path.join(jobs[i].out, 'code.npy')), 'code.npy').data);
      console.log(
        `autoencoder parity at ${side}: max |code - torch| ${dz.toExponential(2)}, max |recon - torch| ${dy.toExponential(2)}; params ${stores[i].count()} (torch ${ref.jobs[i].params})`,
      );
      expect(dz).toBeLessThan(1e-4);
      expect(dy).toBeLessThan(1e-5);
      // the paper shape has torch's parameter count too
      const paper = new ParamStore(0);
      buildAutoencoder(paper, side, PAPER_SHAPE);
      expect(paper.count()).toBe(ref.paper_params[String(side)]);
      paper.dispose();
      tf.dispose([y, z]);
    }
    console.log(`paper-shape autoencoder parameters (torch): ${JSON.stringify(ref.paper_params)}`);
    tf.dispose(inputs);
    stores.forEach((s) => s.dispose());
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

afterAll(() => cleanupTmp());
