import { createRegistry } from '@dpl/core';
import plugin from '../src/plugin';

describe('efficientnet plugin module', () => {
  it('binds efficientnet_b0..b7 and efficientnet_v2_s/m/l in a registry', async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    expect(
      reg
        .backbones()
        .map((b) => b.id)
        .sort(),
    ).toEqual([...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `efficientnet_b${i}`), ...['l', 'm', 's'].map((s) => `efficientnet_v2_${s}`)]);
    expect(reg.backbone('efficientnet_b7').point('stage4').paperIndex).toBe(3);
    expect(reg.backbone('efficientnet_v2_s').point('E3').name).toBe('stage5.3');
  });
});
