/**
 * The graphs read exactly torchvision's state_dict keys and shapes: the full models as shipped
 * (aux heads and fc included, aux_logits=True) bind with nothing missing, mis-shaped or
 * unexpected, and the module list the study indexes is the graph's tap order.
 */
import { spawnSync } from 'node:child_process';
import { isDplError, type StateDict } from '@dpl/core';
import { referencePython, torchAvailable } from '@dpl/core/testkit';
import { inceptionBackbones } from '../src/inception';

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED Inception state_dict key tests: ${torch.reason}`);
const maybe = torch.ok ? describe : describe.skip;

interface TorchModel {
  shapes: Record<string, number[]>;
  children: string[];
}

/**
 * state_dict shapes and the study's module list of torchvision's models (no weights computed);
 * one python process for all ids, as importing torch dominates the cost.
 */
function torchModels(ids: string[]): Record<string, TorchModel> {
  const code = `
import json, sys, torchvision
out = {}
for id in sys.argv[1:]:
    m = getattr(torchvision.models, id)(weights=None, aux_logits=True, init_weights=False)
    out[id] = {
        'shapes': {k: list(v.shape) for k, v in m.state_dict().items()},
        'children': [n for n, c in m.named_children() if n not in ('AuxLogits', 'aux1', 'aux2')],
    }
print(json.dumps(out))`;
  const r = spawnSync(referencePython().python, ['-c', code, ...ids], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, TorchModel>;
}

/** A shapes-only state_dict: binding checks read shapes, never values. */
const shapesOnly = (shapes: Record<string, number[]>): StateDict =>
  new Map(Object.entries(shapes).map(([k, shape]) => [k, { dtype: 'float32', shape, data: new Float32Array(0) }]));

maybe('Inception graphs bind torchvision checkpoints', () => {
  const backbones = inceptionBackbones();
  let models: Record<string, TorchModel>;
  beforeAll(() => {
    models = torchModels(backbones.map((b) => b.id));
  });
  for (const b of backbones) {
    describe(b.id, () => {
      let tv: TorchModel;
      beforeAll(() => {
        tv = models[b.id];
      });

      it('the full torchvision state_dict (aux heads and fc included) binds', () => {
        const sd = shapesOnly(tv.shapes);
        expect([...sd.keys()].some((k) => /^(aux1|AuxLogits)\./.test(k))).toBe(true);
        expect(() => b.prepareWeights(sd, 'full.pth')).not.toThrow();
        // every feature key torchvision has is one the graph reads
        const read = new Set(b.expectedParams().map((p) => p.key));
        const featureKeys = Object.keys(tv.shapes).filter(
          (k) => !/^(fc|aux1|aux2|AuxLogits)\./.test(k) && !k.endsWith('num_batches_tracked'),
        );
        expect([...read].sort()).toEqual(featureKeys.sort());
      });

      it('a missing or foreign key is reported by name', () => {
        const sd = shapesOnly(tv.shapes);
        const victim = b.expectedParams()[10].key;
        sd.delete(victim);
        sd.set('bogus.weight', { dtype: 'float32', shape: [1], data: new Float32Array(0) });
        let err: unknown;
        try {
          b.prepareWeights(sd, 'broken.pth');
        } catch (e) {
          err = e;
        }
        expect(isDplError(err)).toBe(true);
        expect((err as Error).message).toContain(victim);
        expect((err as Error).message).toContain('bogus.weight');
      });

      it("taps follow torchvision's top-level children (aux heads skipped) by study index", () => {
        const pts = b.points();
        expect(pts.map((p) => p.name)).toEqual(tv.children.slice(0, pts.length));
        expect(tv.children.slice(pts.length)).toEqual(['avgpool', 'dropout', 'fc']);
      });
    });
  }
});
