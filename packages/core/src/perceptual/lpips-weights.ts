/** Reading LPIPS' lin checkpoints from files (node); the tables and the state_dict mapping are in lpips-points.ts. */
import { readWeights } from '../weights/read-weights';
import { lpipsBackbone, lpipsLinFromStateDict, type LpipsLinWeights } from './lpips-points';

export {
  LPIPS_POINTS,
  lpipsBackbone,
  lpipsLinFromStateDict,
  type LpipsBackboneId,
  type LpipsLinWeights,
  type LpipsPointTable,
} from './lpips-points';

/** Reads an LPIPS v0.1 lin checkpoint (.pth zip or legacy, or .safetensors) for `backboneId`. */
export async function loadLpipsLinWeights(file: string, backboneId: string): Promise<LpipsLinWeights> {
  lpipsBackbone(backboneId); // fail on the id before reading the file
  return lpipsLinFromStateDict(await readWeights(file), backboneId, file);
}
