import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';
import { googlenetGraph } from './googlenet';
import { inceptionV3Graph } from './inception-v3';

export { transformInput } from './transform-input';

interface InceptionVariant extends FamilyVariant {
  graph: (g: GraphBuilder) => Ref;
}

/** Both members of the family: GoogLeNet and Inception v3, with torchvision 0.14 key names. */
export const inceptionFamily = defineFamily<InceptionVariant>({
  family: 'inception',
  variants: {
    googlenet: {
      graph: googlenetGraph,
      weights: 'googlenet-1378be20.pth',
      top1: 69.778,
      // torchvision's documented num_params (6624904): the model without aux heads, as shipped
      params: 6.62,
      ignorePrefixes: ['fc.', 'aux1.', 'aux2.'],
      description: 'GoogLeNet / Inception v1 (Szegedy et al. 2014), torchvision variant with BatchNorm',
    },
    inception_v3: {
      graph: inceptionV3Graph,
      weights: 'inception_v3_google-0cc3c7bd.pth',
      top1: 77.294,
      // docs/PROTOCOL.md's figure: the network with its fc classifier but without the AuxLogits head,
      // which the study never runs (torchvision's documented 27.16M counts that head too).
      params: 23.83,
      ignorePrefixes: ['fc.', 'AuxLogits.'],
      description: 'Inception v3 (Szegedy et al. 2015), torchvision port of the TensorFlow weights',
    },
  },
  build: (g, v) => v.graph(g),
  // docs/PROTOCOL.md section 2: googlenet indices 0, 5, 8, 15; inception_v3 indices 2, 7, 9, 14
  studyPoints: {
    googlenet: ['conv1', 'inception3a', 'inception4a', 'inception5b'],
    inception_v3: ['Conv2d_2b_3x3', 'Mixed_5b', 'Mixed_5d', 'Mixed_6e'],
  },
  batchNorm: true,
});

export const INCEPTION_IDS = inceptionFamily.ids;
export const inceptionBackbones = (): GraphBackbone[] => inceptionFamily.backbones();
export const googlenet = (): GraphBackbone => inceptionFamily.backbone('googlenet');
export const inceptionV3 = (): GraphBackbone => inceptionFamily.backbone('inception_v3');
