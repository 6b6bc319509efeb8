import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readWeights } from '@dpl/core';
import { efficientnetBackbones } from '../src/efficientnet';
it('prof', async () => {
  await initBackend(process.env.BK ?? 'wasm');
  const b = efficientnetBackbones().find((x) => x.id === 'efficientnet_b7')!;
  const dir = fs.readdirSync('tools/parity/.cache').find((d) => d.startsWith('efficientnet_b7'))!;
  const sd = await readWeights(`tools/parity/.cache/${dir}/weights.pth`);
  const keep: tf.Tensor[] = [];
  let tt = 0, tr = 0, trot = 0, n = 0;
  const marks: string[] = [];
  for (const [k, r] of sd) {
    if (r.shape.length !== 4) continue;
    n++;
    let t0 = Date.now();
    const a = tf.tensor4d(r.data, r.shape as [number, number, number, number]);
    tt += Date.now() - t0; t0 = Date.now();
    const b2 = tf.transpose(a, [2, 3, 1, 0]);
    tr += Date.now() - t0; t0 = Date.now();
    const rot = tf.tidy(() => tf.transpose(tf.reverse(b2, [0, 1]), [0, 1, 3, 2]));
    trot += Date.now() - t0;
    a.dispose();
    keep.push(b2, rot);
    if (n % 50 === 0) marks.push(`${n}: ${tt}/${tr}/${trot} ${(tf.memory().numBytes / 1e6).toFixed(0)}MB`);
  }
  console.log(marks.join('\n'));
  tf.dispose(keep);
});
