import { createRegistry } from '@dpl/core';
import plugin from '../src/plugin';

describe('swin plugin module', () => {
  it('binds swin_t, swin_s and swin_b in a registry', async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    expect(
      reg
        .backbones()
        .map((b) => b.id)
        .sort(),
    ).toEqual(['swin_b', 'swin_s', 'swin_t']);
    expect(reg.backbone('swin_s').point('stage3.7').paperIndex).toBe(3);
    expect(reg.backbone('swin_t').family).toBe('swin');
  });
});
