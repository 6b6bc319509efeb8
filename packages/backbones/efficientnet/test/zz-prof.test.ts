import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@dpl/core';
it('prof', async () => {
  await initBackend(process.env.BK ?? 'wasm');
  const a = tf.randomUniform([1, 1, 640, 3840]) as tf.Tensor4D;
  for (const [name, f] of [['reverse01', () => tf.reverse(a, [0, 1])], ['transpose0132', () => tf.transpose(a, [0, 1, 3, 2])], ['transpose2310', () => tf.transpose(a, [2, 3, 1, 0])]] as [string, () => tf.Tensor][]) {
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) { const y = f(); await y.data(); y.dispose(); }
    console.log(name, (Date.now() - t0) / 5, 'ms per 9.8MB');
  }
});
