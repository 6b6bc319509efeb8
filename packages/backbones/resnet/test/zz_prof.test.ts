import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readWeights } from '@dpl/core';
import { torchFixture } from '../../../../tools/parity/fixture';
import { resnetBackbones } from '../src/resnet';
it('prof', async () => {
  await initBackend('wasm');
  for (const id of (process.env.IDS ?? 'wide_resnet101_2').split(',')) {
  const b = resnetBackbones().find((x) => x.id === id)!;
  const pts = b.id === 'resnet18' ? b.points().filter((p) => p.studyIndex !== undefined) : b.metadata.inStudy ? b.points().filter((p) => p.paper) : b.points().filter((p) => ['relu', 'layer1', 'layer3', 'layer4'].includes(p.name) && p.studyIndex !== undefined);
  const fx = torchFixture({ model: b.id, indices: pts.map((p) => p.studyIndex!), sizes: [[64, 64], [65, 71]], legacy: false, dropPrefixes: ['fc.'] });
  let t = Date.now();
  const sd = await readWeights(fx.weights);
  const t1 = Date.now() - t; t = Date.now();
  const ex = b.build({ weights: sd });
  const t2 = Date.now() - t; t = Date.now();
  const x = await readInputTensor(fx.input(64, 64));
  const f = ex.extract(x, pts.map((p) => p.name));
  await f.get('layer4')!.data();
  const t3 = Date.now() - t; t = Date.now();
  const f2 = ex.extract(x, pts.map((p) => p.name));
  await f2.get('layer4')!.data();
  const t4 = Date.now() - t;
  console.log(id, `read ${t1} build ${t2} extract ${t3} again ${t4}`);
  ex.dispose();
  }
});
