import type { InputNormalization, WeightFileInfo } from '../contracts/backbone';
import { configError } from '../errors';
import type { GraphBuilder, Ref } from '../graph/builder';
import { defineBackbone, type GraphBackbone } from './define';

/** Where torchvision publishes its checkpoints. */
export const TORCHVISION_MODELS_URL = 'https://download.pytorch.org/models/';

/**
 * A torchvision checkpoint by its file name (`<name>-<hex>.pth`): the download URL and the
 * SHA-256 prefix the name carries follow from it.
 */
export function torchvisionWeights(file: string, bytes?: number): WeightFileInfo {
  const m = /-([0-9a-f]{8,})\.pth$/.exec(file);
  if (!m)
    throw configError(
      `weights file '${file}'`,
      'does not end with -<hex digits of its SHA-256>.pth',
      'give the full { file, url, sha256Prefix } record',
    );
  return { file, url: TORCHVISION_MODELS_URL + file, sha256Prefix: m[1], ...(bytes !== undefined ? { bytes } : {}) };
}

/** One row of a family's variants table; families add their own architecture fields. */
export interface FamilyVariant {
  /** ImageNet top-1 accuracy (%) of the published weights. */
  top1?: number;
  /** Parameters of the whole published model (classifier included), in millions. */
  params?: number;
  /** The published weights: a torchvision file name (see torchvisionWeights), or the full record. */
  weights?: string | WeightFileInfo;
  /** Whether the network has BatchNorm layers (default: the family's). */
  batchNorm?: boolean;
  /** state_dict key prefixes this network's features never read (default: the family's). */
  ignorePrefixes?: string[];
  description: string;
}

/** What defineFamily needs: the family's name, its variants table, one graph builder for all, the study's points and defaults. */
export interface FamilySpec<V extends FamilyVariant> {
  family: string;
  /** Every network of the family by id, in listing order. */
  variants: Record<string, V>;
  /**
   * Builds one network's graph, every parameter named by its torchvision state_dict key; returns
   * the graph's final node (defaults to the last one added).
   */
  build: (g: GraphBuilder, variant: V, id: string) => Ref | void;
  /** The study's four points per network, tap names in E1..E4 order; the networks listed are the study's 14. */
  studyPoints?: Record<string, string[]>;
  /** For networks outside the study: four points chosen the study's way, the default points (E1..E4). */
  defaultPoints?: Record<string, string[]>;
  /** Default for variants that do not say. */
  batchNorm: boolean;
  /** Default 'imagenet'. */
  normalization?: InputNormalization;
  /** state_dict key prefixes the features never read (classifier heads, auxiliary heads). */
  ignorePrefixes?: string[];
  /** Renames legacy checkpoint keys to the current torchvision names. */
  renameKey?: (key: string) => string;
}

/** A declared family: its ids and a fresh Backbone per network. */
export interface BackboneFamily {
  readonly family: string;
  readonly ids: string[];
  backbones(): GraphBackbone[];
  backbone(id: string): GraphBackbone;
}

/**
 * Declares a backbone family once: the graph builder, the variants table (with the weights
 * metadata the CLI's `dpl weights pull` reads) and the study's points. Every Backbone it makes is a
 * GraphBackbone, so points, attributes and weight checks come from the graph.
 */
export function defineFamily<V extends FamilyVariant>(spec: FamilySpec<V>): BackboneFamily {
  const ids = Object.keys(spec.variants);
  const backbone = (id: string): GraphBackbone => {
    const v = spec.variants[id];
    if (!v) throw configError(`${spec.family} network '${id}'`, 'is not in the family', `use one of: ${ids.join(', ')}`);
    const study = spec.studyPoints?.[id];
    return defineBackbone({
      id,
      family: spec.family,
      metadata: {
        imagenetTop1: v.top1,
        paramsMillions: v.params,
        batchNorm: v.batchNorm ?? spec.batchNorm,
        normalization: spec.normalization ?? 'imagenet',
        inStudy: study !== undefined,
        weights: typeof v.weights === 'string' ? torchvisionWeights(v.weights) : v.weights,
        description: v.description,
      },
      graph: (g) => spec.build(g, v, id),
      ignorePrefixes: v.ignorePrefixes ?? spec.ignorePrefixes,
      renameKey: spec.renameKey,
      studyPoints: study ?? spec.defaultPoints?.[id],
    });
  };
  return { family: spec.family, ids, backbones: () => ids.map(backbone), backbone };
}
