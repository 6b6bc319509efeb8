import { createRegistry } from '@dpl/core';
import plugin from '../src/plugin';

describe('mobilenet plugin module', () => {
  it('binds mobilenet_v3_large and mobilenet_v3_small in a registry', async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    expect(
      reg
        .backbones()
        .map((b) => b.id)
        .sort(),
    ).toEqual(['mobilenet_v3_large', 'mobilenet_v3_small']);
    expect(reg.backbone('mobilenet_v3_large').point('E3').name).toBe('block7');
    expect(reg.backbone('mobilenet_v3_small').family).toBe('mobilenet');
  });
});
