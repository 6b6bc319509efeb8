/**
 * Parity with torchvision: every DenseNet variant at an even and an odd input size, with seeded
 * random weights and randomised BatchNorm statistics. densenet121: all 12 children of features
 * (the 4 paper points among them); the others: relu0, transition1, denseblock3, norm5. Dense layer
 * boundaries are checked against the leading channels of the torch block output (a block's output
 * is the running concatenation, so the boundary after layer N is its first C0 + N * growth
 * channels); transition internals against forward hooks in torch. Legacy (`norm.1`) checkpoint keys
 * are checked in memory and through a pre-1.6 format file like the V1 downloads.
 * Criterion: max |ours - torch| <= 1e-4 * max |torch|.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readNpy, readWeights, type StateDict } from '@dpl/core';
import { PYTHON, relativeMaxError, torchAvailable, torchFixture, type Fixture } from '../../../../tools/parity/fixture';
import { densenetBackbones } from '../src/densenet';

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED DenseNet parity tests: ${torch.reason}`);
const maybe = torch.ok ? describe : describe.skip;

const SIZES: [number, number][] = [
  [64, 64],
  [67, 75],
];
const HELPER = path.join(__dirname, 'torch_densenet.py');
/** The first run builds the torch fixtures (densenet161 takes about a minute on 2 busy cores). */
const FIXTURE_TIMEOUT = 300_000;

interface Plan {
  /** Children of features compared with torch_features.py's outputs. */
  indices: number[];
  /** Dense layer boundaries, each compared with the leading channels of its block's output. */
  inner: string[];
  /** Submodules of features compared through forward hooks. */
  hooked: string[];
}

const PLANS: Record<string, Plan> = {
  densenet121: {
    indices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    inner: ['denseblock1.denselayer1', 'denseblock2.denselayer7', 'denseblock3.denselayer12', 'denseblock4.denselayer15'],
    hooked: ['transition1.relu', 'transition1.conv', 'transition3.relu', 'transition3.conv'],
  },
  densenet161: { indices: [2, 5, 8, 11], inner: ['denseblock3.denselayer2'], hooked: ['transition2.conv'] },
  densenet169: { indices: [2, 5, 8, 11], inner: ['denseblock3.denselayer31'], hooked: ['transition2.conv'] },
  densenet201: { indices: [2, 5, 8, 11], inner: ['denseblock3.denselayer17'], hooked: ['transition2.conv'] },
};

const fixtureFor = (id: string): Fixture =>
  torchFixture({ model: id, indices: PLANS[id].indices, sizes: SIZES, dropPrefixes: ['classifier.'] });

/** Runs the DenseNet helper once per fixture directory (its outputs are cached beside the fixture). */
function helper(fx: Fixture, marker: string, args: string[]): void {
  const done = path.join(fx.dir, marker);
  if (fs.existsSync(done)) return;
  execFileSync(PYTHON, [HELPER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  fs.writeFileSync(done, args.join(' '));
}

const npy = (file: string) => {
  const a = readNpy(fs.readFileSync(file), file);
  return tf.tensor4d(a.data, a.shape as [number, number, number, number]);
};

/** Compares our NHWC feature with a torch NCHW one (or its first channels) and records the error. */
async function compare(ours: tf.Tensor4D, ref: tf.Tensor4D, label: string, report: string[], leading = false): Promise<void> {
  const c = ours.shape[3];
  // only a dense layer boundary may be compared with part of the reference's channels
  const [a, b] = tf.tidy(() => [
    tf.transpose(ours, [0, 3, 1, 2]),
    leading ? tf.slice(ref, [0, 0, 0, 0], [-1, c, -1, -1] as [number, number, number, number]) : ref.clone(),
  ]);
  expect(a.shape).toEqual(b.shape);
  const err = relativeMaxError((await a.data()) as Float32Array, (await b.data()) as Float32Array);
  tf.dispose([a, b]);
  report.push(`${label}: rel ${err.rel.toExponential(2)} (max|torch| ${err.maxRef.toPrecision(3)})`);
  expect(err.rel).toBeLessThanOrEqual(1e-4);
}

maybe('DenseNet parity with torchvision', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  // the study's networks always; their siblings with DPL_PARITY_FULL=1 (CI time: every fixture is a torch run)
  const FULL = process.env.DPL_PARITY_FULL === '1';
  const nets = densenetBackbones().filter((b) => FULL || b.metadata.inStudy);
  const skipped = densenetBackbones()
    .filter((b) => !FULL && !b.metadata.inStudy)
    .map((b) => b.id);
  if (skipped.length) console.warn(`SKIPPED densenet parity for ${skipped.join(', ')}: set DPL_PARITY_FULL=1 to run them`);
  for (const b of nets) {
    it(
      `${b.id}`,
      async () => {
        const plan = PLANS[b.id];
        const fx = fixtureFor(b.id);
        helper(fx, 'hooks_done', ['submodules', b.id, fx.dir, SIZES.map(([h, w]) => `${h}x${w}`).join(','), plan.hooked.join(',')]);
        const children = plan.indices.map((i) => b.point(String(i)));
        if (b.metadata.inStudy) {
          // the study's four points are among the compared children
          expect(
            b
              .points()
              .filter((p) => p.paper)
              .every((p) => children.includes(p)),
          ).toBe(true);
        }
        const names = [...children.map((p) => p.name), ...plan.inner, ...plan.hooked];
        const extractor = b.build({ weights: await readWeights(fx.weights), weightsSource: { file: fx.weights } });
        const report: string[] = [];
        try {
          for (const [h, w] of SIZES) {
            const x = await readInputTensor(fx.input(h, w));
            const feats = extractor.extract(x, names);
            const at = `${b.id} @${h}x${w}`;
            for (const p of children) {
              const ref = npy(fx.feature(h, w, p.studyIndex!));
              await compare(feats.get(p.name)!, ref, `${at} ${p.name} [${p.studyIndex}]${p.paper ? ' (paper)' : ''}`, report);
              ref.dispose();
            }
            for (const name of plan.inner) {
              const block = name.split('.')[0];
              const ref = npy(fx.feature(h, w, b.point(block).studyIndex!));
              expect(feats.get(name)!.shape[3]).toBeLessThan(ref.shape[1]);
              await compare(feats.get(name)!, ref, `${at} ${name} (first channels of ${block})`, report, true);
              ref.dispose();
            }
            for (const name of plan.hooked) {
              const ref = npy(path.join(fx.dir, `sub_${h}x${w}_${name}.npy`));
              await compare(feats.get(name)!, ref, `${at} ${name} (hook)`, report);
              ref.dispose();
            }
            tf.dispose([x, ...feats.values()]);
          }
        } finally {
          extractor.dispose();
        }
        console.log(report.join('\n'));
      },
      FIXTURE_TIMEOUT,
    );
  }

  describe('legacy checkpoint keys (densenet121)', () => {
    const b = densenetBackbones()[0];
    const paper = () => b.points().filter((p) => p.paper);
    const [h, w] = SIZES[0];

    it('legacy names in memory give bit-identical features', async () => {
      const fx = fixtureFor(b.id);
      const sd = await readWeights(fx.weights);
      // the inverse of torchvision's rename: norm1 -> norm.1, conv2 -> conv.2
      const legacy: StateDict = new Map(
        [...sd].map(([k, v]) => [
          k.replace(/(denselayer\d+\.(?:norm|conv))([12])\.(weight|bias|running_mean|running_var)$/, '$1.$2.$3'),
          v,
        ]),
      );
      expect([...legacy.keys()].filter((k) => !sd.has(k))).toHaveLength(580);
      const names = paper().map((p) => p.name);
      const x = await readInputTensor(fx.input(h, w));
      const a = b.build({ weights: sd });
      const c = b.build({ weights: legacy });
      try {
        const fa = a.extract(x, names);
        const fc = c.extract(x, names);
        for (const n of names) {
          const d = tf.tidy(() => tf.max(tf.abs(tf.sub(fa.get(n)!, fc.get(n)!))).dataSync()[0]);
          expect(d).toBe(0);
        }
        tf.dispose([...fa.values(), ...fc.values()]);
      } finally {
        a.dispose();
        c.dispose();
        x.dispose();
      }
    });

    it('a pre-1.6 format file with legacy names (as the V1 download) matches torch', async () => {
      const fx = fixtureFor(b.id);
      helper(fx, 'legacy_done', ['legacy', fx.dir]);
      const file = path.join(fx.dir, 'legacy_keys.pth');
      expect(fs.readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x80, 0x02])); // a bare pickle, not a zip
      const sd = await readWeights(file);
      expect(sd.has('features.denseblock1.denselayer1.norm.1.weight')).toBe(true);
      expect(sd.has('features.denseblock1.denselayer1.norm1.weight')).toBe(false);
      const ex = b.build({ weights: sd, weightsSource: { file } });
      const report: string[] = [];
      const x = await readInputTensor(fx.input(h, w));
      try {
        const feats = ex.extract(
          x,
          paper().map((p) => p.name),
        );
        for (const p of paper()) {
          const ref = npy(fx.feature(h, w, p.studyIndex!));
          await compare(feats.get(p.name)!, ref, `densenet121 legacy file @${h}x${w} ${p.name}`, report);
          ref.dispose();
        }
        tf.dispose([...feats.values()]);
      } finally {
        ex.dispose();
        x.dispose();
      }
      console.log(report.join('\n'));
    });
  });
});
