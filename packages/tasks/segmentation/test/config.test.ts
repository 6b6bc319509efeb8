import { createRegistry, dplErrorMessage as message } from '@dpl/core';
import plugin from '../src/plugin';
import { checkSegmentationConfig, CONFIG_KEYS, PRESETS, resolveSegmentationConfig } from '../src/config';
import { segmentationTask } from '../src/task';

describe('segmentation config', () => {
  it('the paper preset holds the study settings as its official code ran them (docs/PROTOCOL.md section 5, Deviations)', () => {
    const c = resolveSegmentationConfig('paper');
    expect(c).toMatchObject({
      cropSize: 224,
      imageSize: 224,
      hflip: 0.5,
      widths: [8, 16, 32, 32],
      kTrain: 1,
      kTest: 3,
      mu: 0.01,
      lr: 1e-3,
      batchSize: 8,
      epochs: 100,
      threshold: 0.3,
      gtThreshold: 0.5,
      lossNetworkMode: 'train',
      scoreSplit: 'val',
      maxTrainImages: null,
      maxValImages: null,
      maxTestImages: null,
    });
    expect(PRESETS.map((p) => p.name)).toEqual(['paper', 'corrected', 'quick']);
    for (const p of PRESETS) expect(Object.keys(p.config).sort()).toEqual([...CONFIG_KEYS].sort());
    expect(segmentationTask.resolveConfig('quick', { lossNetworkMode: 'train' }).lossNetworkMode).toBe('train');
  });

  it('rejects unknown presets and keys and bad values, naming them', () => {
    expect(message(() => resolveSegmentationConfig('fast'))).toContain("preset 'fast'");
    expect(message(() => resolveSegmentationConfig('quick', { croppSize: 64 }))).toContain("config key 'croppSize'");
    expect(message(() => resolveSegmentationConfig('quick', { cropSize: 60 }))).toMatch(/cropSize.*60.*multiple of 16/s);
    expect(message(() => resolveSegmentationConfig('quick', { lossNetworkMode: 'training' }))).toMatch(/lossNetworkMode.*eval, train/s);
    expect(message(() => resolveSegmentationConfig('quick', { widths: [8, 16, 32] }))).toContain("'widths'");
    expect(message(() => resolveSegmentationConfig('quick', { batchSize: 1 }))).toContain("'batchSize'");
    expect(message(() => resolveSegmentationConfig('quick', { threshold: 1.5 }))).toContain("'threshold'");
    expect(message(() => resolveSegmentationConfig('quick', { cropSize: 256 }))).toMatch(/syntheticSize.*smaller than cropSize 256/);
    expect(message(() => checkSegmentationConfig({ cropSize: 64 }))).toContain('lacks');
  });

  it('accepts widths as a comma list (as from --set)', () => {
    expect(resolveSegmentationConfig('quick', { widths: '4, 8, 16, 16' }).widths).toEqual([4, 8, 16, 16]);
  });

  it('the plugin entry binds the task for the registry (dpl run --task segmentation)', async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    expect(reg.task('segmentation')).toBe(segmentationTask);
  });
});
