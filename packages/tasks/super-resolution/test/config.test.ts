import { superResolutionTask } from '../src/task';
import { CONFIG_KEYS, checkSuperResolutionConfig, resolveSuperResolutionConfig } from '../src/config';

describe('super-resolution configuration', () => {
  it('has the study settings as its code ran them as the paper preset (docs/PROTOCOL.md section 4, Deviations)', () => {
    const c = resolveSuperResolutionConfig('paper');
    expect(c).toMatchObject({
      scale: 4,
      hrSize: 288,
      blurRadius: 1,
      normalize: 'none',
      lossNetworkMode: 'eval',
      trainImages: 10000,
      valImages: 100,
      selectionSeed: 42,
      batchSize: 4,
      lr: 1e-3,
      epochs: 80,
      maxSteps: 200000,
      testSets: ['Set5', 'Set14', 'BSD100'],
      // the standard metrics shave the scale; the LR image is made from the whole original
      shave: 4,
      degradation: 'official',
      // the study's model and loss: no global residual, no pixel warm-up
      globalResidual: 'none',
      pixelWarmupSteps: 0,
    });
    // the quick preset's documented deviation
    expect(resolveSuperResolutionConfig('quick')).toMatchObject({ globalResidual: 'bicubic', pixelWarmupSteps: 0 });
    expect(superResolutionTask.presets.map((p) => p.name).sort()).toEqual(['corrected', 'paper', 'quick']);
    expect(Object.keys(superResolutionTask.resolveConfig('quick')).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  it('takes overrides and checks every key and value', () => {
    expect(resolveSuperResolutionConfig('quick', { scale: 8, hrSize: 64, testSets: 'Set5,BSD100' })).toMatchObject({
      scale: 8,
      testSets: ['Set5', 'BSD100'],
    });
    expect(() => resolveSuperResolutionConfig('fast')).toThrow(
      /preset 'fast': is not a preset of super-resolution[\s\S]*use one of: paper, corrected, quick/,
    );
    expect(() => resolveSuperResolutionConfig('quick', { learningRate: 1 })).toThrow(
      /config key 'learningRate': is not a super-resolution setting/,
    );
    expect(() => resolveSuperResolutionConfig('quick', { scale: 3 })).toThrow(/'scale'.*3[\s\S]*one of: 4, 8/);
    expect(() => resolveSuperResolutionConfig('quick', { normalize: 'lpips' })).toThrow(/'normalize'/);
    expect(() => resolveSuperResolutionConfig('quick', { lossNetworkMode: 'frozen' })).toThrow(/'lossNetworkMode'/);
    expect(() => resolveSuperResolutionConfig('quick', { testSets: ['Set5', 'Urban100'] })).toThrow(
      /'testSets\[1\]': has the value \["Set5","Urban100"\][\s\S]*values from: Set5, Set14, BSD100/,
    );
    expect(() => resolveSuperResolutionConfig('quick', { testSets: [] })).toThrow(/'testSets'/);
    expect(() => resolveSuperResolutionConfig('quick', { batchSize: 0 })).toThrow(/'batchSize': has the value 0[\s\S]*integer >= 1/);
    expect(() => resolveSuperResolutionConfig('quick', { lr: -1 })).toThrow(/'lr'/);
    expect(() => resolveSuperResolutionConfig('quick', { maxSteps: 2.5 })).toThrow(/'maxSteps'/);
    expect(() => resolveSuperResolutionConfig('quick', { globalResidual: 'vdsr' })).toThrow(/'globalResidual'[\s\S]*one of: none, bicubic/);
    expect(() => resolveSuperResolutionConfig('quick', { pixelWarmupSteps: -1 })).toThrow(/'pixelWarmupSteps'.*-1[\s\S]*integer >= 0/);
    expect(resolveSuperResolutionConfig('paper', { globalResidual: 'bicubic', pixelWarmupSteps: 5 })).toMatchObject({
      globalResidual: 'bicubic',
      pixelWarmupSteps: 5,
    });
  });

  it('refuses sizes the network or the metrics cannot use', () => {
    expect(() => resolveSuperResolutionConfig('quick', { hrSize: 66 })).toThrow(/66 is not divisible by the scale 4/);
    expect(() => resolveSuperResolutionConfig('quick', { hrSize: 32, scale: 8 })).toThrow(/4 px LR images at x8[\s\S]*hrSize >= 40/);
    expect(() => resolveSuperResolutionConfig('quick', { hrSize: 20, shave: 7 })).toThrow(/'shave'/);
    const full = resolveSuperResolutionConfig('quick') as unknown as Record<string, unknown>;
    delete full.scale;
    expect(() => checkSuperResolutionConfig(full)).toThrow(/super-resolution config: lacks scale/);
  });
});
