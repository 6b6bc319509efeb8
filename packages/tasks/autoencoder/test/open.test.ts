import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveAutoencoderConfig } from '../src/config';
import { openRunData } from '../src/data/open';
import { tmp, cleanupTmp } from './helpers';

const cfg = (o: Record<string, unknown> = {}) =>
  resolveAutoencoderConfig('quick', { syntheticUnlabeled: 12, syntheticTrain: 10, syntheticTest: 6, ...o });

describe('run data', () => {
  it('without a data root: writes the synthetic set to scratch, applies the seeded limits', async () => {
    const scratch = tmp('dpl-ae-open-');
    const logs: string[] = [];
    const d = await openRunData(
      cfg({ maxAutoencoderImages: 8, maxProbeTrainImages: 4, maxProbeTestImages: null }),
      undefined,
      scratch,
      0,
      (m) => logs.push(m),
    );
    try {
      expect(d.kind).toBe('synthetic');
      expect(d.root).toBe(path.join(scratch, 'synthetic-autoencoder'));
      expect([d.autoencoder.count, d.probeTrain.count, d.probeTest.count]).toEqual([8, 4, 6]);
      expect(d.available).toEqual({ autoencoder: 12, probeTrain: 10, probeTest: 6 });
      expect(d.autoencoder.side).toBe(64);
      expect(logs[0]).toMatch(/synthetic stand-in/);
    } finally {
      d.close();
    }
    // the written folder, given as a data root, is recognised by its manifest
    const again = await openRunData(cfg(), d.root, scratch, 0, () => undefined);
    expect(again.kind).toBe('synthetic');
    expect(again.probeTest.count).toBe(6);
    again.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('names the expected files when the data root holds no data set, and refuses an ambiguous one', async () => {
    const root = tmp('dpl-ae-empty-');
    await expect(openRunData(cfg(), root, root, 0, () => undefined)).rejects.toThrow(
      new RegExp(`${root}: holds neither STL-10 nor SVHN files[\\s\\S]*unlabeled_X\\.bin[\\s\\S]*extra_32x32\\.mat`),
    );
    fs.writeFileSync(path.join(root, 'train_X.bin'), Buffer.alloc(27648));
    fs.writeFileSync(path.join(root, 'train_32x32.mat'), Buffer.alloc(10));
    await expect(openRunData(cfg(), root, root, 0, () => undefined)).rejects.toThrow(
      /holds both STL-10 and SVHN files[\s\S]*set dataset to 'stl10' or 'svhn'/,
    );
    // an explicit choice goes to that loader, which names the missing file
    await expect(openRunData(cfg({ dataset: 'stl10' }), root, root, 0, () => undefined)).rejects.toThrow(
      /unlabeled_X\.bin: does not exist/,
    );
    fs.rmSync(root, { recursive: true, force: true });
  });
});

afterAll(() => cleanupTmp());
