import { initBackend } from '@dpl/core';
import { randomStateDict } from '@dpl/core/graph/random-init';
import { efficientnetBackbones } from '../src/efficientnet';
it('prof', async () => {
  await initBackend('wasm');
  const b = efficientnetBackbones().find((x) => x.id === 'efficientnet_b7')!;
  let t = Date.now();
  const sd = randomStateDict(b.graph(), 0);
  const t1 = Date.now();
  const ex = b.build({ weights: sd });
  console.log('random sd', t1 - t, 'build', Date.now() - t1);
  ex.dispose();
});
