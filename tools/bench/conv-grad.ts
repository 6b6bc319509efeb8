/**
 * Micro benchmark (not a test) of the trainable convolution ops on the wasm backend against
 * stock tfjs. Run (ts-node is not installed, so compile first):
 *   npx tsc --outDir /tmp/dpl-bench --module commonjs --target es2022 --esModuleInterop \
 *     --skipLibCheck --types node tools/bench/conv-grad.ts
 *   node /tmp/dpl-bench/tools/bench/conv-grad.js [vgg|grouped|depthwise|transpose|all]
 * Prints the best of BENCH_REPS (default 5) runs in ms per call, after one warm-up call; the best
 * (not the mean) because other processes share the cores.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { conv2d, convFilterGrad, convInputGrad, convRaw, rotateSwap } from '../../packages/core/src/ops/conv-train';
import { zeroInsertFull } from '../../packages/core/src/ops/zero-insert';
import { convTranspose2d, convTranspose2dFrozen } from '../../packages/core/src/ops/conv-transpose';
import { depthwiseConv2d, depthwiseConv2dFrozen } from '../../packages/core/src/ops/depthwise';
import { type GroupedStrategy, groupedConv2d, groupedConv2dFrozen } from '../../packages/core/src/ops/grouped';
import type { Conv2DSpec } from '../../packages/core/src/ops/conv-spec';

type T4 = tf.Tensor4D;

const REPS = Number(process.env.BENCH_REPS ?? 5);

async function time(name: string, f: () => tf.Tensor | tf.Tensor[], reps = REPS): Promise<number> {
  const run = async () => {
    const out = f();
    const list = Array.isArray(out) ? out : [out];
    await Promise.all(list.map((t) => t.data()));
    tf.dispose(list);
  };
  try {
    await run();
  } catch (e) {
    console.log(`${name.padEnd(64)} FAILS: ${(e as Error).message.split('\n')[0]}`);
    return NaN;
  }
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${name.padEnd(64)} ${best.toFixed(1).padStart(8)} ms`);
  return best;
}

const rand = (shape: number[]) => tf.randomNormal(shape) as tf.Tensor;
const spec = (s: number, p: number, d = 1): Conv2DSpec => ({ stride: [s, s], pad: [p, p], dilation: [d, d] });
const explicit = (p: number): [[number, number], [number, number], [number, number], [number, number]] => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

async function vgg(): Promise<void> {
  for (const s of [1, 2]) {
    console.log(`\nVGG-like conv: x [4,72,72,64], w 3x3x64x64, pad 1, stride ${s}`);
    const x = rand([4, 72, 72, 64]) as T4,
      w = rand([3, 3, 64, 64]) as T4,
      b = rand([64]) as tf.Tensor1D;
    const sp = spec(s, 1);
    const y = tf.conv2d(x, w, s, explicit(1));
    const dy = rand(y.shape) as T4;
    y.dispose();
    await time('forward tf.conv2d', () => tf.conv2d(x, w, s, explicit(1)));
    await time('ours dx (forward convs of dy, by phases)', () => convInputGrad(dy, w, x.shape, sp));
    await time('  same by one conv of the zero-inserted dy', () =>
      tf.tidy(() => convRaw(zeroInsertFull(dy, s, s), rotateSwap(w), [1, 1], [1, 1, 1, 1], [1, 1])),
    );
    await time('stock dx tf.conv2dTranspose (Conv2DBackpropInput)', () => tf.conv2dTranspose(dy, w, x.shape, s, explicit(1)), 2);
    await time('ours dw (forward conv, dy as filter)', () => convFilterGrad(x, dy, [3, 3], sp));
    await time(
      'stock dw (Conv2DBackpropFilter kernel)',
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: [s, s], pad: explicit(1), dataFormat: 'NHWC', filterShape: [3, 3, 64, 64] },
          ) as tf.Tensor,
      1,
    );
    await time('ours forward + backward (y, dx, dw, db)', () => {
      const { value, grads } = tf.valueAndGrads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        conv2d(a as T4, c as T4, d as tf.Tensor1D, sp),
      )([x, w, b], dy);
      return [value, ...grads];
    });
    tf.dispose([x, w, b, dy]);
  }
}

async function grouped(): Promise<void> {
  // ResNeXt50-32x4d grouped 3x3 convs (batch 8): [H, C, stride]
  const layers: [number, number, number][] = [
    [56, 128, 1],
    [56, 256, 2],
    [28, 256, 1],
    [28, 512, 2],
    [14, 512, 1],
    [14, 1024, 2],
    [7, 1024, 1],
  ];
  for (const [h, c, s] of layers) {
    console.log(`\nResNeXt grouped conv: x [8,${h},${h},${c}], 32 groups, 3x3, stride ${s}`);
    const x = rand([8, h, h, c]) as T4,
      w = rand([3, 3, c / 32, c]) as T4;
    const sp = { ...spec(s, 1), groups: 32 };
    const y = groupedConv2d(x, w, null, sp, 'depthwise');
    const dy = rand(y.shape) as T4;
    y.dispose();
    for (const st of ['depthwise', 'split', 'auto'] as GroupedStrategy[]) {
      await time(`${st}: forward`, () => groupedConv2d(x, w, null, sp, st));
      await time(`${st}: forward + dx (frozen)`, () => tf.grads((a: tf.Tensor) => groupedConv2dFrozen(a as T4, w, null, sp, st))([x], dy));
      await time(`${st}: forward + dx + dw (trainable)`, () =>
        tf.grads((a: tf.Tensor, c2: tf.Tensor) => groupedConv2d(a as T4, c2 as T4, null, sp, st))([x, w], dy),
      );
    }
    tf.dispose([x, w, dy]);
  }
}

async function depthwise(): Promise<void> {
  const layers: [number, number, number, number][] = [
    [56, 144, 3, 1],
    [56, 144, 3, 2],
    [14, 576, 5, 1],
  ];
  for (const [h, c, k, s] of layers) {
    console.log(`\nDepthwise conv: x [8,${h},${h},${c}], ${k}x${k}, stride ${s}`);
    const x = rand([8, h, h, c]) as T4,
      w = rand([k, k, c, 1]) as T4;
    const sp = spec(s, (k - 1) / 2);
    const y = tf.depthwiseConv2d(x, w, s, explicit((k - 1) / 2));
    const dy = rand(y.shape) as T4;
    y.dispose();
    await time('forward tf.depthwiseConv2d', () => tf.depthwiseConv2d(x, w, s, explicit((k - 1) / 2)));
    await time('ours forward + dx (frozen)', () => tf.grads((a: tf.Tensor) => depthwiseConv2dFrozen(a as T4, w, null, sp))([x], dy));
    await time('ours forward + dx + dw (trainable)', () =>
      tf.grads((a: tf.Tensor, c2: tf.Tensor) => depthwiseConv2d(a as T4, c2 as T4, null, sp))([x, w], dy),
    );
    tf.dispose([x, w, dy]);
  }
}

async function transpose(): Promise<void> {
  const cases: [string, number[], number, number, number, number][] = [
    ['U-Net up: x [4,36,36,128] -> 4x4 s2 p1 -> 64 ch', [4, 36, 36, 128], 64, 4, 2, 1],
    ['decoder: x [4,13,13,64] -> 5x5 s2 p0 -> 32 ch', [4, 13, 13, 64], 32, 5, 2, 0],
  ];
  for (const [name, xs, cout, k, s, p] of cases) {
    console.log(`\nTransposed conv, ${name}`);
    const x = rand(xs) as T4,
      w = rand([k, k, cout, xs[3]]) as T4;
    const sp = { stride: [s, s] as [number, number], pad: [p, p] as [number, number] };
    const y = convTranspose2d(x, w, null, sp);
    const dy = rand(y.shape) as T4;
    await time('ours forward (forward convs by phases)', () => convTranspose2d(x, w, null, sp));
    const e = k - 1 - p;
    await time('  same by one conv of the zero-inserted x', () =>
      tf.tidy(() => convRaw(zeroInsertFull(x, s, s), rotateSwap(w), [1, 1], [e, e - (s - 1), e, e - (s - 1)], [1, 1])),
    );
    await time('stock forward tf.conv2dTranspose', () => tf.conv2dTranspose(x, w, y.shape, s, explicit(p)), 2);
    await time('ours forward + dx (frozen)', () => tf.grads((a: tf.Tensor) => convTranspose2dFrozen(a as T4, w, null, sp))([x], dy));
    await time('ours forward + dx + dw (trainable)', () =>
      tf.grads((a: tf.Tensor, c2: tf.Tensor) => convTranspose2d(a as T4, c2 as T4, null, sp))([x, w], dy),
    );
    tf.dispose([x, w, y, dy]);
  }
}

async function main(): Promise<void> {
  tf.env().set('PROD', true);
  await tf.setBackend('wasm');
  await tf.ready();
  console.log(
    `backend ${tf.getBackend()}, SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}`,
  );
  const which = process.argv[2] ?? 'all';
  const sections: Record<string, () => Promise<void>> = { vgg, grouped, depthwise, transpose };
  for (const [name, f] of Object.entries(sections)) if (which === 'all' || which === name) await f();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
