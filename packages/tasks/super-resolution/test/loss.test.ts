import * as tf from '@tensorflow/tfjs-core';
import type { ExtractOptions, FeatureExtractor } from '@dpl/core';
import { FeatureMse, singlePoint } from '../src/loss';
import { squeezenet, useWasm } from './helpers';

beforeAll(useWasm);

describe('feature MSE loss', () => {
  it('accepts exactly one extraction point and says why otherwise', () => {
    expect(singlePoint(['relu2_2'])).toBe('relu2_2');
    expect(() => singlePoint(['relu1_2', 'relu2_2'])).toThrow(
      /relu1_2, relu2_2: super-resolution trains on exactly ONE point, got 2[\s\S]*--points relu2_2/,
    );
    expect(() => singlePoint([])).toThrow(/exactly ONE point, got 0/);
  });

  it('is the mean squared feature difference at the point, zero for identical images, with a gradient', () => {
    const net = squeezenet(3);
    const loss = new FeatureMse({ extractor: net, point: 'fire2', normalize: 'none', mode: 'eval' });
    const a = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const b = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const fb = loss.features(b);
    const ours = loss.loss(a, fb).dataSync()[0];
    const manual = tf.tidy(() => {
      const fa = net.extract(a, ['fire2']).get('fire2')!;
      expect(fa.shape).toEqual(fb.shape);
      return tf.mean(tf.square(tf.sub(fa, fb))).dataSync()[0];
    });
    expect(ours).toBeGreaterThan(0);
    expect(Math.abs(ours - manual) / manual).toBeLessThan(1e-6);
    const self = tf.tidy(() => loss.loss(b, fb).dataSync()[0]);
    expect(self).toBe(0);
    const g = tf.grad((x: tf.Tensor) => loss.loss(x as tf.Tensor4D, fb))(a);
    const gAbs = tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]);
    expect(gAbs).toBeGreaterThan(0);
    expect(Number.isFinite(gAbs)).toBe(true);
    tf.dispose([a, b, fb, g]);
    net.dispose();
  });

  it('feeds raw [0,1] or ImageNet-normalised input and passes the BatchNorm mode through', () => {
    const seen: { input: Float32Array; opts?: ExtractOptions }[] = [];
    const fake = {
      extract: (images: tf.Tensor4D, points: string[], opts?: ExtractOptions) => {
        seen.push({ input: images.dataSync() as Float32Array, opts });
        return new Map(points.map((p) => [p, tf.mul(images, 2) as tf.Tensor4D]));
      },
    } as unknown as FeatureExtractor;
    const x = tf.tensor4d([0.485, 0.456, 0.406, 1, 1, 1], [1, 1, 2, 3]);
    tf.dispose(new FeatureMse({ extractor: fake, point: 'p', normalize: 'none', mode: 'eval' }).features(x));
    tf.dispose(new FeatureMse({ extractor: fake, point: 'p', normalize: 'imagenet', mode: 'train' }).features(x));
    expect([...seen[0].input]).toEqual([...x.dataSync()]);
    expect(seen[0].opts).toEqual({ batchNorm: 'eval' });
    const n = seen[1].input;
    for (let i = 0; i < 3; i++) expect(Math.abs(n[i])).toBeLessThan(1e-6); // the mean maps to 0
    expect(n[3]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(n[5]).toBeCloseTo((1 - 0.406) / 0.225, 5);
    expect(seen[1].opts).toEqual({ batchNorm: 'train' });
    x.dispose();
  });
});
