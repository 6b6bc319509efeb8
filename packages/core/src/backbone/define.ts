import type { Backbone, BackboneMetadata, BuildOptions, ExtractionPoint, FeatureExtractor } from '../contracts/backbone';
import { configError, inputError, unknownPoint } from '../errors';
import { analyse, totalLayers } from '../graph/analyse';
import { GraphBuilder, type Ref } from '../graph/builder';
import type { Graph } from '../graph/ir';
import { assertBindable, checkStateDict, expectedParams, type ParamSpec } from '../graph/params';
import { minInputSize } from '../graph/shapes';
import type { StateDict } from '../weights/state-dict';
import { GraphFeatureExtractor } from './extractor';
import { randomStateDict } from '../graph/random-init';

/** What defineBackbone needs: id, family, metadata, the graph builder, ignored key prefixes, legacy key renames and the study's points. */
export interface BackboneSpec {
  id: string;
  family: string;
  metadata: BackboneMetadata;
  /** Builds the graph; returns the graph's final node (defaults to the last one added). */
  graph: (g: GraphBuilder) => Ref | void;
  /** state_dict key prefixes the features never read (classifier heads, auxiliary heads). */
  ignorePrefixes?: string[];
  /** Renames legacy checkpoint keys to the current torchvision names. */
  renameKey?: (key: string) => string;
  /** The study's four points as tap names, in E1..E4 order: sets their `paperIndex`. */
  studyPoints?: string[];
}

/** Gives the taps named in `names` their paper index (1-based, in order); every name must be a tap. */
function markStudyPoints(graph: Graph, id: string, names: string[]): void {
  names.forEach((name, i) => {
    const tap = graph.taps.find((t) => t.name === name);
    if (!tap) throw configError(`${id} study point '${name}'`, 'is not a tap of the graph');
    tap.paperIndex = i + 1;
  });
}

/** A backbone defined by a graph: points, attributes and weight checks all come from it. */
export class GraphBackbone implements Backbone {
  readonly id: string;
  readonly family: string;
  readonly metadata: BackboneMetadata;
  private cachedGraph?: Graph;
  private cachedPoints?: ExtractionPoint[];

  constructor(private readonly spec: BackboneSpec) {
    this.id = spec.id;
    this.family = spec.family;
    this.metadata = spec.metadata;
  }

  graph(): Graph {
    if (!this.cachedGraph) {
      const g = new GraphBuilder();
      const out = this.spec.graph(g);
      const graph = g.build(out ?? undefined);
      markStudyPoints(graph, this.id, this.spec.studyPoints ?? []);
      this.cachedGraph = graph;
    }
    return this.cachedGraph;
  }

  points(): ExtractionPoint[] {
    if (this.cachedPoints) return this.cachedPoints;
    const graph = this.graph();
    const attrs = analyse(graph);
    const total = totalLayers(graph);
    this.cachedPoints = graph.taps.map((t) => {
      const a = attrs.get(t.node)!;
      const aliases = [...(t.aliases ?? [])];
      if (t.studyIndex !== undefined) aliases.push(String(t.studyIndex), `${this.id}:${t.studyIndex}`);
      return {
        name: t.name,
        aliases,
        paper: t.paperIndex !== undefined,
        paperIndex: t.paperIndex,
        studyIndex: t.studyIndex,
        torchModule: t.torchModule,
        description: t.description,
        channels: a.channels,
        stride: a.stride,
        receptiveField: a.receptiveField,
        convsBefore: a.convsBefore,
        relativeDepth: total ? a.layersBefore / total : 0,
        paramsUpTo: a.paramsUpTo,
        minInputSize: minInputSize(graph, [t.node]),
        node: t.node,
      };
    });
    return this.cachedPoints;
  }

  point(name: string): ExtractionPoint {
    // E1..E4 name the study's four points on every backbone
    const e = /^E([1-9])$/.exec(name);
    const found = this.points().find((p) => p.name === name || p.aliases.includes(name) || (e && p.paperIndex === Number(e[1])));
    if (!found)
      throw unknownPoint(
        this.id,
        name,
        this.points().map((p) => p.name),
      );
    return found;
  }

  resolvePoints(spec: string | string[]): ExtractionPoint[] {
    const names = (Array.isArray(spec) ? spec : [spec])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    const out: ExtractionPoint[] = [];
    for (const n of names) {
      const add = n === 'paper' ? this.points().filter((p) => p.paper) : n === 'all' ? this.points() : [this.point(n)];
      for (const p of add) if (!out.includes(p)) out.push(p);
    }
    if (!out.length)
      throw unknownPoint(
        this.id,
        String(spec),
        this.points().map((p) => p.name),
      );
    return out;
  }

  expectedParams(): ParamSpec[] {
    return expectedParams(this.graph());
  }

  prepareWeights(sd: StateDict, source: string): StateDict {
    let renamed = sd;
    const rename = this.spec.renameKey;
    if (rename) {
      renamed = new Map();
      for (const [k, v] of sd) renamed.set(rename(k), v);
    }
    const prefixes = this.spec.ignorePrefixes ?? [];
    const report = checkStateDict(this.graph(), renamed, (k) => prefixes.some((p) => k.startsWith(p)));
    assertBindable(source, this.id, report);
    return renamed;
  }

  build(opts: BuildOptions = {}): FeatureExtractor {
    if (opts.weights) {
      const source = opts.weightsSource?.file ?? 'weights';
      const sd = this.prepareWeights(opts.weights, source);
      return new GraphFeatureExtractor(this, sd, { kind: 'pretrained', file: source, sha256: opts.weightsSource?.sha256 });
    }
    const seed = opts.seed ?? 0;
    return new GraphFeatureExtractor(this, randomStateDict(this.graph(), seed), { kind: 'random', seed });
  }

  /** Throws a clear error when `h` x `w` is too small for the deepest of `points`. */
  checkInputSize(h: number, w: number, points: ExtractionPoint[]): void {
    const need = Math.max(...points.map((p) => p.minInputSize));
    if (h < need || w < need) {
      const deepest = points.find((p) => p.minInputSize === need)!;
      throw inputError(
        `input ${h}x${w}`,
        `is smaller than ${this.id} needs for point '${deepest.name}' (${need}x${need})`,
        `resize the input to at least ${need}x${need} or choose an earlier point`,
      );
    }
  }
}

/** A Backbone from a graph spec: points, attributes and weight checks are computed from its graph. */
export const defineBackbone = (spec: BackboneSpec): GraphBackbone => new GraphBackbone(spec);
