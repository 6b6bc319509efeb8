import type { Backbone, Registry } from '@dpl/core';
import type { NetworkLookup, PointAttributes } from './model';

/** The report's view of the plugin registry: ImageNet top-1, size and point attributes; undefined for a backbone not installed. */
export function registryLookup(reg: Registry): NetworkLookup {
  return (id) => {
    let b: Backbone;
    try {
      b = reg.backbone(id);
    } catch {
      return undefined;
    }
    return {
      imagenetTop1: b.metadata.imagenetTop1,
      paramsMillions: b.metadata.paramsMillions,
      point: (name): PointAttributes | undefined => {
        try {
          const p = b.point(name);
          return {
            name: p.name,
            paperIndex: p.paper ? p.paperIndex : undefined,
            relativeDepth: p.relativeDepth,
            convsBefore: p.convsBefore,
            paramsUpTo: p.paramsUpTo,
            receptiveField: p.receptiveField,
            stride: p.stride,
            channels: p.channels,
          };
        } catch {
          return undefined;
        }
      },
    };
  };
}
