/**
 * The `paper` preset reproduces what the study's official autoencoder code did (docs/PROTOCOL.md,
 * "Deviations"): the loss network left in train mode (batch statistics, stochastic depth); the
 * pixel-loss autoencoder is the study's baseline.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type TaskResult } from '@dpl/core';
import { ReconstructionLoss } from '../src/loss';
import { autoencoderTask } from '../src/task';
import { cleanupTmp, context, lossNetwork } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(cleanupTmp);

/** Two autoencoder steps of the paper's batch 256 on 64 x 64 images (SVHN's padded size): 512 train + 128 val. */
const TWO_STEPS = {
  syntheticSize: 64,
  syntheticUnlabeled: 640,
  epochs: 1,
  syntheticTrain: 60,
  syntheticTest: 30,
  probeEpochs: 1,
  samples: 0,
};

describe('lossNetworkMode in the autoencoder loss', () => {
  it("'train' makes an image's loss depend on its batch-mates; 'eval' does not", () => {
    const net = lossNetwork('efficientnet_b0', 2);
    try {
      const x = tf.randomUniform([3, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const recon = tf.randomUniform([3, 64, 64, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const firstLoss = (mode: 'eval' | 'train', n: number) =>
        tf.tidy(() => {
          const loss = new ReconstructionLoss({
            kind: 'perceptual',
            extractor: net,
            points: ['stage2'],
            normalize: 'none',
            batchNorm: mode,
          });
          const xs = tf.slice(x, [0, 0, 0, 0], [n, -1, -1, -1]);
          const rs = tf.slice(recon, [0, 0, 0, 0], [n, -1, -1, -1]);
          return loss.perImage(rs, loss.targets(xs)).dataSync()[0];
        });
      expect(firstLoss('eval', 3)).toBeCloseTo(firstLoss('eval', 2), 6);
      expect(Math.abs(firstLoss('train', 3) - firstLoss('train', 2))).toBeGreaterThan(1e-4);
      tf.dispose([x, recon]);
    } finally {
      net.dispose();
    }
  });
});

describe('the paper preset at the paper sizes', () => {
  // squeezenet1_1 keeps this cheap (a batch of 256 through efficientnet_b0 exhausts the wasm heap);
  // train mode's effect is pinned above
  it('trains two steps of batch 256 on 64 x 64 images with the loss network in train mode, then the seven probes', async () => {
    const net = lossNetwork('squeezenet1_1', 0);
    try {
      const ctx = { ...context(net, { points: ['fire2'] }), config: autoencoderTask.resolveConfig('paper', TWO_STEPS) };
      // frozen convs keep the rotated kernels of their first backward pass: warm up before counting
      tf.dispose(
        tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(net.extract(x as tf.Tensor4D, ['fire2']).get('fire2')!))(tf.zeros([2, 64, 64, 3]))),
      );
      const before = tf.memory().numTensors;
      const cpu0 = process.cpuUsage();
      const r: TaskResult = await autoencoderTask.run(ctx);
      const cpu = process.cpuUsage(cpu0);
      console.log(`autoencoder paper preset, 2 steps of 256 at 64 px: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);
      expect(tf.memory().numTensors).toBe(before);
      const d = r.detail as { autoencoder: { steps: number }; loss: { lossNetworkMode: string; kind: string } };
      expect(d.autoencoder.steps).toBe(2);
      expect(d.loss).toMatchObject({ kind: 'perceptual', lossNetworkMode: 'train' });
      expect(ctx.config).toMatchObject({ batchSize: 256, codeSize: 64, encoderChannels: [32, 64, 128, 256], lossNetworkMode: 'train' });
      expect(Object.keys(r.metrics).filter((k) => k.startsWith('accuracy_')).length).toBe(7);
    } finally {
      net.dispose();
    }
  }, 600_000);

  it("the pixel baseline ('loss: pixel') trains the same autoencoder without the loss network", async () => {
    const net = lossNetwork('squeezenet1_1', 0);
    try {
      const ctx = { ...context(net), config: autoencoderTask.resolveConfig('paper', { ...TWO_STEPS, loss: 'pixel' }) };
      const r = await autoencoderTask.run(ctx);
      const d = r.detail as {
        autoencoder: { steps: number };
        loss: { kind: string; backbone: string | null; lossNetworkMode: string | null };
      };
      expect(d.autoencoder.steps).toBe(2);
      expect(d.loss).toMatchObject({ kind: 'pixel', backbone: null, lossNetworkMode: null });
    } finally {
      net.dispose();
    }
  }, 600_000);
});
