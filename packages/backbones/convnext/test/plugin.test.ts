import { createRegistry } from '@dpl/core';
import plugin from '../src/plugin';

describe('convnext plugin module', () => {
  it('binds convnext_tiny/small/base/large in a registry, with their default points', async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    expect(
      reg
        .backbones()
        .map((b) => b.id)
        .sort(),
    ).toEqual(['convnext_base', 'convnext_large', 'convnext_small', 'convnext_tiny']);
    expect(reg.backbone('convnext_small').point('stage3.11').paperIndex).toBe(3);
    expect(reg.backbone('convnext_tiny').resolvePoints('E4')[0].torchModule).toBe('features.7');
  });
});
