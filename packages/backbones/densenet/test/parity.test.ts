/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness. densenet121: all 12 children of features
 * (the 4 paper points among them); the others: relu0, transition1, denseblock3, norm5. Dense layer
 * boundaries are checked against the leading channels of the torch block output (a block's output
 * is the running concatenation, so the boundary after layer N is its first C0 + N * growth
 * channels); transition internals against forward hooks in torch (torch_densenet.py). Legacy
 * (`norm.1`) checkpoint keys are checked in memory and through a pre-1.6 format file like the V1
 * downloads.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readWeights, type Backbone, type StateDict } from '@dpl/core';
import {
  backboneParity,
  npyRef,
  referencePython,
  relativeMaxError,
  torchAvailable,
  torchFixture,
  type Fixture,
  type Size,
} from '@dpl/core/testkit';
import { densenetBackbones } from '../src/densenet';

const HELPER = path.join(__dirname, 'torch_densenet.py');

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

/** Runs the DenseNet helper once per fixture directory (its outputs are cached beside the fixture). */
function helper(fx: Fixture, marker: string, args: string[]): void {
  const done = path.join(fx.dir, marker);
  if (fs.existsSync(done)) return;
  execFileSync(referencePython().python, [HELPER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  fs.writeFileSync(done, args.join(' '));
}

const childNames = (b: Backbone) => PLANS[b.id].indices.map((i) => b.point(String(i)).name);

beforeAll(async () => {
  await initBackend('wasm');
});

it("the study's four points are among densenet121's compared children", () => {
  const b = densenetBackbones()[0];
  expect(b.resolvePoints('paper').every((p) => childNames(b).includes(p.name))).toBe(true);
});

const cases = backboneParity({
  backbones: densenetBackbones(),
  points: childNames,
  // the study's networks always; their siblings with DPL_PARITY_FULL=1 (CI time: every fixture is a torch run)
  quick: (b) => b.metadata.inStudy,
  dropPrefixes: ['classifier.'],
  extra: {
    points: (b) => [...PLANS[b.id].inner, ...PLANS[b.id].hooked],
    prepare: (b, fx, sizes) =>
      helper(fx, 'hooks_done', ['submodules', b.id, fx.dir, sizes.map(([h, w]) => `${h}x${w}`).join(','), PLANS[b.id].hooked.join(',')]),
    check: async (c) => {
      const [h, w] = c.size;
      for (const name of PLANS[c.backbone.id].inner) {
        const block = name.split('.')[0];
        const ref = c.npy(c.fixture.feature(h, w, c.backbone.point(block).studyIndex!));
        await c.compare(`${name} (first channels of ${block})`, c.features.get(name)!, ref, true);
      }
      for (const name of PLANS[c.backbone.id].hooked) {
        await c.compare(`${name} (hook)`, c.features.get(name)!, c.npy(path.join(c.fixture.dir, `sub_${h}x${w}_${name}.npy`)));
      }
    },
  },
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);

const torch = torchAvailable();
(torch.ok ? describe : describe.skip)('legacy checkpoint keys (densenet121)', () => {
  const b = densenetBackbones()[0];
  const names = () => b.resolvePoints('paper').map((p) => p.name);
  const size: Size = [64, 64];
  const fixture = () => torchFixture({ model: b.id, indices: PLANS[b.id].indices, sizes: [size, [67, 75]], dropPrefixes: ['classifier.'] });

  it('legacy names in memory give bit-identical features', async () => {
    const fx = fixture();
    const sd = await readWeights(fx.weights);
    // the inverse of torchvision's rename: norm1 -> norm.1, conv2 -> conv.2
    const legacy: StateDict = new Map(
      [...sd].map(([k, v]) => [k.replace(/(denselayer\d+\.(?:norm|conv))([12])\.(weight|bias|running_mean|running_var)$/, '$1.$2.$3'), v]),
    );
    expect([...legacy.keys()].filter((k) => !sd.has(k))).toHaveLength(580);
    const x = await readInputTensor(fx.input(...size));
    const a = b.build({ weights: sd });
    const c = b.build({ weights: legacy });
    try {
      const fa = a.extract(x, names());
      const fc = c.extract(x, names());
      for (const n of names()) {
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
    const fx = fixture();
    helper(fx, 'legacy_done', ['legacy', fx.dir]);
    const file = path.join(fx.dir, 'legacy_keys.pth');
    expect(fs.readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x80, 0x02])); // a bare pickle, not a zip
    const sd = await readWeights(file);
    expect(sd.has('features.denseblock1.denselayer1.norm.1.weight')).toBe(true);
    expect(sd.has('features.denseblock1.denselayer1.norm1.weight')).toBe(false);
    const ex = b.build({ weights: sd, weightsSource: { file } });
    const x = await readInputTensor(fx.input(...size));
    try {
      const feats = ex.extract(x, names());
      for (const p of b.resolvePoints('paper')) {
        const ours = tf.transpose(feats.get(p.name)!, [0, 3, 1, 2]);
        const ref = npyRef(fx.feature(...size, p.studyIndex!));
        expect(ours.shape).toEqual(ref.shape);
        const err = relativeMaxError((await ours.data()) as Float32Array, ref.data);
        ours.dispose();
        console.log(`densenet121 legacy file @${size.join('x')} ${p.name}: rel ${err.rel.toExponential(2)}`);
        expect(err.rel).toBeLessThanOrEqual(1e-4);
      }
      tf.dispose([...feats.values()]);
    } finally {
      ex.dispose();
      x.dispose();
    }
  });
});
