import { createRegistry } from '@dpl/core';
import plugin from '../src/plugin';

describe('vit plugin module', () => {
  it('binds vit_b_16, vit_b_32, vit_l_16, vit_l_32 in a registry', async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    expect(
      reg
        .backbones()
        .map((b) => b.id)
        .sort(),
    ).toEqual(['vit_b_16', 'vit_b_32', 'vit_l_16', 'vit_l_32']);
    expect(reg.backbone('vit_l_16').point('block12').paperIndex).toBe(3);
    expect(reg.backbone('vit_l_32').family).toBe('vit');
  });
});
