/**
 * The backbone families the page offers: the same family declarations the CLI's plugins register
 * (packages/backbones/*), bundled from their sources.
 */
import type { GraphBackbone } from '@dpl/core';
import { alexnetBackbones } from '@dpl/backbone-alexnet';
import { convnextBackbones } from '@dpl/backbone-convnext';
import { densenetBackbones } from '@dpl/backbone-densenet';
import { efficientnetBackbones } from '@dpl/backbone-efficientnet';
import { inceptionBackbones } from '@dpl/backbone-inception';
import { mobilenetBackbones } from '@dpl/backbone-mobilenet';
import { regnetBackbones } from '@dpl/backbone-regnet';
import { resnetBackbones } from '@dpl/backbone-resnet';
import { squeezenetBackbones } from '@dpl/backbone-squeezenet';
import { swinBackbones } from '@dpl/backbone-swin';
import { vggBackbones } from '@dpl/backbone-vgg';
import { vitBackbones } from '@dpl/backbone-vit';

let all: Map<string, GraphBackbone> | null = null;

export function backbones(): Map<string, GraphBackbone> {
  all ??= new Map(
    [
      alexnetBackbones,
      squeezenetBackbones,
      vggBackbones,
      resnetBackbones,
      densenetBackbones,
      inceptionBackbones,
      efficientnetBackbones,
      mobilenetBackbones,
      regnetBackbones,
      convnextBackbones,
      swinBackbones,
      vitBackbones,
    ]
      .flatMap((f) => f())
      .map((b) => [b.id, b]),
  );
  return all;
}
