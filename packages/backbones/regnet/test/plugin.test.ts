import { createRegistry } from '@dpl/core';
import plugin from '../src/plugin';

describe('regnet plugin module', () => {
  it("binds torchvision's 8 RegNetY and 7 RegNetX networks in a registry", async () => {
    const reg = await createRegistry({ discover: false, modules: [plugin] });
    const ids = reg.backbones().map((b) => b.id);
    expect(ids.filter((id) => id.startsWith('regnet_y_')).sort()).toEqual(
      ['128gf', '16gf', '1_6gf', '32gf', '3_2gf', '400mf', '800mf', '8gf'].map((s) => `regnet_y_${s}`),
    );
    expect(ids.filter((id) => id.startsWith('regnet_x_'))).toHaveLength(7);
    expect(reg.backbone('regnet_y_400mf').point('E3').name).toBe('stage3.3');
  });
});
