/**
 * Throughput of the baseline similarity scoring on wasm (not a test): triplets per second for
 * squeezenet1_1 and vgg16 (random weights, the four paper points, 64x64, evalBatchSize 50), on a
 * synthetic split of BENCH_TRIPLETS triplets (default 100), PNG decoding included, best of
 * BENCH_REPS (default 2) runs after a warm-up. Besides wall-clock rates it prints rates per
 * CPU-second of this process (wasm runs on one thread): on a shared, loaded machine those
 * approximate what one quiet core does. Run:
 *   npx jest --testMatch '**\/bench/**\/*.bench.ts' packages/tasks/similarity/bench
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, PerceptualDistance } from '@dpl/core';
import { squeezenetBackbones } from '../../../backbones/squeezenet/src/squeezenet';
import { vggBackbones } from '../../../backbones/vgg/src/vgg';
import { generateSyntheticBapps } from '../src/bapps/synthetic';
import { similarityTask } from '../src/task';

const N = Number(process.env.BENCH_TRIPLETS ?? 100);
const REPS = Number(process.env.BENCH_REPS ?? 2);
const silent = { start: () => undefined, tick: () => undefined, log: () => undefined, done: () => undefined };

it('baseline scoring throughput (wasm)', async () => {
  await initBackend('wasm');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-sim-bench-'));
  await generateSyntheticBapps(root, { seed: 1, counts: { val: N, train: 1, jnd: 1 } });
  const lines: string[] = [
    `${N} triplets, ${os.cpus().length} cpus, load ${os
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}`,
  ];
  const nets = [squeezenetBackbones().find((b) => b.id === 'squeezenet1_1')!, vggBackbones().find((b) => b.id === 'vgg16')!];
  for (const b of nets) {
    const net = b.build({ seed: 0 });
    const points = b.resolvePoints('paper').map((p) => p.name);
    // compute only: one batch of 50 triplets already in memory
    const pd = new PerceptualDistance({
      extractor: net,
      points,
      input: { range: '[0,1]', normalize: 'imagenet', validate: false },
      variant: 'baseline',
    });
    const x = () => tf.randomUniform([50, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    let best = Infinity;
    let bestCpu = Infinity;
    for (let r = 0; r <= REPS; r++) {
      const [ref, p0, p1] = [x(), x(), x()];
      const t = Date.now();
      const c = process.cpuUsage();
      const [d0, d1] = tf.tidy(() => {
        const f = pd.features(ref);
        return [pd.computeWithReference(f, p0), pd.computeWithReference(f, p1)];
      });
      await d0.data();
      await d1.data();
      const cpu = process.cpuUsage(c);
      if (r > 0) {
        best = Math.min(best, (Date.now() - t) / 1000);
        bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1e6);
      }
      tf.dispose([ref, p0, p1, d0, d1]);
    }
    lines.push(`${b.id}: compute only ${(50 / best).toFixed(1)} triplets/s wall, ${(50 / bestCpu).toFixed(1)} per CPU-second`);
    pd.dispose();
    // the task: loader (PNG decode, prefetch) + distances + metrics
    let bestTask = 0;
    let bestTaskCpu = 0;
    for (let r = 0; r <= REPS; r++) {
      const c = process.cpuUsage();
      const config = similarityTask.resolveConfig('paper', { valSplits: ['traditional'], jndSplits: [], resume: false });
      const res = await similarityTask.run({
        lossNetwork: net,
        points,
        config,
        dataRoot: root,
        seed: 0,
        progress: silent,
        scratchDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-sim-bench-s-')),
      });
      const cpu = process.cpuUsage(c);
      const s = res.detail!.scoring as { itemsPerSecond: number; items: number };
      if (r > 0) {
        bestTask = Math.max(bestTask, s.itemsPerSecond);
        // includes the libuv threads' PNG decoding, which overlaps compute on a quiet machine
        bestTaskCpu = Math.max(bestTaskCpu, s.items / ((cpu.user + cpu.system) / 1e6));
      }
    }
    lines.push(`${b.id}: task scoring ${bestTask.toFixed(1)} triplets/s wall, ${bestTaskCpu.toFixed(1)} per CPU-second (whole run)`);
    net.dispose();
  }
  console.log(lines.join('\n'));
}, 1_800_000);
