import { createRegistry } from '@dpl/core';
import plugin from '../src/plugin';

describe('inception plugin module', () => {
  it('binds googlenet and inception_v3 in a registry', async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    expect(
      reg
        .backbones()
        .map((b) => b.id)
        .sort(),
    ).toEqual(['googlenet', 'inception_v3']);
    expect(reg.backbone('inception_v3').point('Mixed_6e').paperIndex).toBe(4);
  });
});
