/** The loss networks of the task tests: study networks with seeded random weights, by id. */
import type { FeatureExtractor } from '@dpl/core';
import { efficientnetBackbones } from '../../backbones/efficientnet/src/efficientnet';
import { squeezenetBackbones } from '../../backbones/squeezenet/src/squeezenet';
import { vggBackbones } from '../../backbones/vgg/src/vgg';

export type StudyNetworkId = 'squeezenet1_1' | 'vgg16' | 'efficientnet_b0';

export function lossNetwork(id: StudyNetworkId, seed = 0): FeatureExtractor {
  const all = [...squeezenetBackbones(), ...vggBackbones(), ...efficientnetBackbones()];
  return all.find((b) => b.id === id)!.build({ seed });
}
