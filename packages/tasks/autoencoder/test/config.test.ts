import { createRegistry } from '@dpl/core';
import { PRESETS, PAPER_PROBES, resolveAutoencoderConfig, checkAutoencoderConfig } from '../src/config';
import plugin from '../src/plugin';
import { autoencoderTask } from '../src/task';

describe('autoencoder config', () => {
  it("has 'paper' with the study's settings as its code ran them (docs/PROTOCOL.md section 6), 'corrected' and a smaller 'quick'", () => {
    expect(PRESETS.map((p) => p.name)).toEqual(['paper', 'corrected', 'quick']);
    // the only difference: the loss network's mode (the study's code left it in train mode)
    expect(resolveAutoencoderConfig('corrected')).toEqual({ ...resolveAutoencoderConfig('paper'), lossNetworkMode: 'eval' });
    expect(resolveAutoencoderConfig('paper')).toEqual({
      dataset: 'auto',
      loss: 'perceptual',
      normalize: 'none',
      lossNetworkMode: 'train',
      codeSize: 64,
      encoderChannels: [32, 64, 128, 256],
      decoderChannels: [1024, 128, 64, 32],
      lr: 1e-3,
      batchSize: 256,
      epochs: 50,
      patience: 10,
      valFraction: 0.2,
      maxAutoencoderImages: null,
      probeHidden: [[], [32], [64], [32, 32], [64, 32], [64, 64], [128, 128]],
      probeLr: 1e-3,
      probeBatchSize: 256,
      probeEpochs: 500,
      probePatience: 25,
      probeValFraction: 0.2,
      probeLeakySlope: 0.01,
      maxProbeTrainImages: null,
      maxProbeTestImages: null,
      evalBatchSize: 256,
      svhnPad: 16,
      svhnCacheDir: null,
      samples: 8,
      syntheticSize: 64,
      syntheticUnlabeled: 5000,
      syntheticTrain: 1000,
      syntheticTest: 1000,
    });
    const quick = resolveAutoencoderConfig('quick');
    // quick keeps the models and the loss, and shrinks data and epochs
    expect(quick).toMatchObject({
      codeSize: 64,
      encoderChannels: [32, 64, 128, 256],
      decoderChannels: [1024, 128, 64, 32],
      loss: 'perceptual',
      probeHidden: PAPER_PROBES,
    });
    expect(quick.maxAutoencoderImages).toBeLessThanOrEqual(1000);
    expect(quick.epochs).toBeLessThan(50);
  });

  it('applies overrides and copies lists (no aliasing of the preset)', () => {
    const c = resolveAutoencoderConfig('paper', { loss: 'pixel', lossNetworkMode: 'train', normalize: 'imagenet', probeHidden: [[8]] });
    expect(c).toMatchObject({ loss: 'pixel', lossNetworkMode: 'train', normalize: 'imagenet', probeHidden: [[8]] });
    resolveAutoencoderConfig('paper').probeHidden[1].push(99);
    expect(resolveAutoencoderConfig('paper').probeHidden[1]).toEqual([32]);
  });

  it('names an unknown key, a bad value or an unknown preset', () => {
    expect(() => resolveAutoencoderConfig('paper', { epoch: 3 })).toThrow(/config key 'epoch': is not an autoencoder setting/);
    expect(() => resolveAutoencoderConfig('paper', { loss: 'l1' })).toThrow(
      /config key 'loss': has the value "l1"[\s\S]*perceptual, pixel/,
    );
    expect(() => resolveAutoencoderConfig('paper', { lossNetworkMode: 'frozen' })).toThrow(/lossNetworkMode/);
    expect(() => resolveAutoencoderConfig('paper', { encoderChannels: [32, 64] })).toThrow(
      /encoderChannels[\s\S]*a list of 4 integers >= 1/,
    );
    expect(() => resolveAutoencoderConfig('paper', { probeHidden: [[32], [0]] })).toThrow(/probeHidden\[1\]/);
    expect(() => resolveAutoencoderConfig('paper', { valFraction: 1 })).toThrow(/valFraction/);
    expect(() => resolveAutoencoderConfig('paper', { syntheticSize: 72 })).toThrow(/syntheticSize[\s\S]*64 \+ 16k/);
    expect(() => resolveAutoencoderConfig('paper', { batchSize: 1 })).toThrow(/batchSize/);
    expect(() => resolveAutoencoderConfig('paper', { svhnCacheDir: 3 })).toThrow(/svhnCacheDir[\s\S]*folder path, or null/);
    expect(() => resolveAutoencoderConfig('fast')).toThrow(/preset 'fast': is not a preset of autoencoder[\s\S]*paper, corrected, quick/);
    expect(() => checkAutoencoderConfig({ ...resolveAutoencoderConfig('quick'), epochs: undefined } as Record<string, unknown>)).toThrow(
      /epochs/,
    );
  });

  it('is registered by the plugin module under id autoencoder', async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    expect(reg.task('autoencoder')).toBe(autoencoderTask);
    expect(autoencoderTask.presets.map((p) => p.name)).toEqual(['paper', 'corrected', 'quick']);
  });
});
