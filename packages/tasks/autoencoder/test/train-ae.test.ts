import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, ParamStore, splitTrainVal } from '@dpl/core';
import { resolveAutoencoderConfig } from '../src/config';
import { openStl10File, toStl10Layout } from '../src/data/stl10';
import { syntheticSplit } from '../src/data/synthetic';
import { ReconstructionLoss } from '../src/loss';
import { buildAutoencoder, type AutoencoderShape } from '../src/model';
import { meanLoss, trainAutoencoder } from '../src/train-ae';
import { subset } from '../src/data/image-set';
import { cleanupTmp, lossNetwork, recorder, tmp } from './helpers';

const SHAPE: AutoencoderShape = { encoderChannels: [4, 8, 8, 8], decoderChannels: [16, 8, 4, 4], codeSize: 16 };

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => cleanupTmp());

describe('autoencoder training', () => {
  it('keeps the tensor count constant across steps, validates each epoch, restores the best checkpoint', async () => {
    const dir = tmp('dpl-ae-train-');
    const file = path.join(dir, 'x.bin');
    fs.writeFileSync(file, toStl10Layout(syntheticSplit(9, 'unlabeled', 30, 64).images, 64));
    const images = openStl10File(file, null, 64);
    const net = lossNetwork('squeezenet1_1');
    const store = new ParamStore(0);
    try {
      buildAutoencoder(store, 64, SHAPE);
      const cfg = resolveAutoencoderConfig('quick', { batchSize: 8, epochs: 3, patience: 3, evalBatchSize: 16 });
      const loss = new ReconstructionLoss({ kind: 'perceptual', extractor: net, points: ['relu1'], normalize: 'none', batchNorm: 'eval' });
      const checkpoint = path.join(dir, 'best.safetensors');
      const s = await trainAutoencoder({
        cfg,
        store,
        shape: SHAPE,
        images,
        loss,
        seed: 0,
        checkpointPath: checkpoint,
        progress: recorder(),
      });
      expect([s.trainImages, s.valImages]).toEqual([24, 6]);
      const steps = s.result.history.steps;
      expect(steps).toHaveLength(9); // 3 epochs x 3 batches of 8
      expect(new Set(steps.slice(1).map((x) => x.numTensors)).size).toBe(1);
      const vals = s.result.history.validations.map((v) => v.metric);
      expect(vals).toHaveLength(3);
      expect(s.bestValLoss).toBe(Math.min(...vals));
      // the store holds the best parameters: their validation loss is the best one
      const split = splitTrainVal(30, cfg.valFraction, 0);
      const again = await meanLoss(store, SHAPE, loss, subset(images, split.val), 16);
      expect(Math.abs(again - s.bestValLoss!) / s.bestValLoss!).toBeLessThan(1e-5);
      expect(JSON.parse(fs.readFileSync(`${checkpoint}.json`, 'utf8')).metric).toBeCloseTo(s.bestValLoss!, 10);
      console.log(
        `autoencoder training (tiny, squeezenet1_1 relu1): train losses ${steps.map((x) => x.loss.toPrecision(3)).join(' ')}; validation ${vals.map((v) => v.toPrecision(4)).join(' ')}; ${steps[1].numTensors} tensors after every step`,
      );
    } finally {
      store.dispose();
      net.dispose();
      images.close();
    }
  });

  it('stops on abort with a clear error', async () => {
    const dir = tmp('dpl-ae-abort-');
    const file = path.join(dir, 'x.bin');
    fs.writeFileSync(file, toStl10Layout(syntheticSplit(9, 'unlabeled', 10, 64).images, 64));
    const images = openStl10File(file, null, 64);
    const net = lossNetwork('squeezenet1_1');
    const store = new ParamStore(0);
    buildAutoencoder(store, 64, SHAPE);
    const ctrl = new AbortController();
    ctrl.abort();
    const before = tf.memory().numTensors;
    await expect(
      trainAutoencoder({
        cfg: resolveAutoencoderConfig('quick', { batchSize: 4 }),
        store,
        shape: SHAPE,
        images,
        seed: 0,
        checkpointPath: path.join(dir, 'c.safetensors'),
        progress: recorder(),
        signal: ctrl.signal,
        loss: new ReconstructionLoss({ kind: 'pixel', extractor: net, points: [], normalize: 'none', batchNorm: 'eval' }),
      }),
    ).rejects.toThrow(/interrupted after 0 steps/);
    expect(tf.memory().numTensors).toBe(before);
    store.dispose();
    net.dispose();
    images.close();
  });
});
