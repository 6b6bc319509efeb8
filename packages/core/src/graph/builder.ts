import { configError } from '../errors';
import type { ActivationKind, Graph, GraphNode, Op, Pair, TapSpec } from './ir';

/** A handle to a node's output while building. */
export interface Ref {
  readonly id: number;
  readonly channels: number;
}

const pair = (v: number | Pair): Pair => (Array.isArray(v) ? v : [v, v]);

/** A convolution's hyper-parameters in the builder (PyTorch's Conv2d arguments). */
export interface ConvOptions {
  /** Output channels. */
  out: number;
  k: number | Pair;
  stride?: number | Pair;
  /** Explicit symmetric padding, as PyTorch's `padding` (never TF 'same'). */
  pad?: number | Pair;
  dilation?: number | Pair;
  groups?: number;
  bias?: boolean;
}

/** A pooling's hyper-parameters in the builder (PyTorch's MaxPool2d / AvgPool2d arguments). */
export interface PoolOptions {
  k: number | Pair;
  /** Defaults to k, as in PyTorch. */
  stride?: number | Pair;
  pad?: number | Pair;
  ceil?: boolean;
  countIncludePad?: boolean;
}

/**
 * Builds a backbone graph with PyTorch semantics. Parameters are referenced by their torchvision
 * state_dict prefix, so the graph documents exactly which checkpoint keys it reads.
 */
export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly taps: TapSpec[] = [];
  private readonly keys = new Set<string>();

  input(channels = 3): Ref {
    return this.add({ kind: 'input', channels }, [], channels);
  }

  conv(x: Ref, key: string, o: ConvOptions): Ref {
    const groups = o.groups ?? 1;
    if (x.channels % groups !== 0 || o.out % groups !== 0) {
      throw configError(key, `channels ${x.channels}->${o.out} not divisible by groups ${groups}`);
    }
    return this.add(
      {
        kind: 'conv',
        key: this.claim(key),
        inChannels: x.channels,
        outChannels: o.out,
        kernel: pair(o.k),
        stride: pair(o.stride ?? 1),
        pad: pair(o.pad ?? 0),
        dilation: pair(o.dilation ?? 1),
        groups,
        bias: o.bias ?? true,
      },
      [x],
      o.out,
    );
  }

  batchNorm(x: Ref, key: string, eps = 1e-5): Ref {
    return this.add({ kind: 'batchNorm', key: this.claim(key), channels: x.channels, eps }, [x], x.channels);
  }

  linear(x: Ref, key: string, out: number, bias = true): Ref {
    return this.add({ kind: 'linear', key: this.claim(key), inFeatures: x.channels, outFeatures: out, bias }, [x], out);
  }

  act(x: Ref, kind: ActivationKind): Ref {
    return this.add({ kind }, [x], x.channels);
  }
  relu(x: Ref): Ref {
    return this.act(x, 'relu');
  }

  maxPool(x: Ref, o: PoolOptions): Ref {
    return this.pool('maxPool', x, o);
  }
  avgPool(x: Ref, o: PoolOptions): Ref {
    return this.pool('avgPool', x, o);
  }
  adaptiveAvgPool(x: Ref, out: number | Pair): Ref {
    return this.add({ kind: 'adaptiveAvgPool', out: pair(out) }, [x], x.channels);
  }

  pad(x: Ref, pads: [number, number, number, number], mode: 'constant' | 'reflect' = 'constant', value = 0): Ref {
    return this.add({ kind: 'pad', pads, mode, value }, [x], x.channels);
  }

  affine(x: Ref, scale: number[], shift: number[]): Ref {
    if (scale.length !== x.channels || shift.length !== x.channels) {
      throw configError('affine', `needs ${x.channels} scale and shift values`);
    }
    return this.add({ kind: 'affine', scale, shift }, [x], x.channels);
  }

  concat(xs: Ref[]): Ref {
    return this.add(
      { kind: 'concat' },
      xs,
      xs.reduce((s, r) => s + r.channels, 0),
    );
  }

  /** a + b; `dropPath` > 0: a is a residual branch under train-mode stochastic depth (see AddOp). */
  add2(a: Ref, b: Ref, dropPath = 0): Ref {
    this.sameChannels('add', a, b);
    return this.add(dropPath > 0 ? { kind: 'add', dropPath } : { kind: 'add' }, [a, b], a.channels);
  }

  /** Elementwise product; b may have spatial size 1 (squeeze-excitation gating). */
  mul(a: Ref, b: Ref): Ref {
    this.sameChannels('mul', a, b);
    return this.add({ kind: 'mul' }, [a, b], a.channels);
  }

  flatten(x: Ref, features: number): Ref {
    return this.add({ kind: 'flatten' }, [x], features);
  }

  /** LayerNorm over channels (PyTorch LayerNorm(C) on channels-last data; ConvNeXt's LayerNorm2d). */
  layerNorm(x: Ref, key: string, eps = 1e-5): Ref {
    return this.add({ kind: 'layerNorm', key: this.claim(key), channels: x.channels, eps }, [x], x.channels);
  }

  /** nn.Linear on each position's channels (weight [out, in]). */
  channelLinear(x: Ref, key: string, out: number, bias = true): Ref {
    return this.add({ kind: 'channelLinear', key: this.claim(key), inChannels: x.channels, outChannels: out, bias }, [x], out);
  }

  /** x * param per channel (ConvNeXt's layer_scale; `shape` as stored, default [C, 1, 1]). */
  channelScale(x: Ref, param: string, shape: number[] = [x.channels, 1, 1]): Ref {
    if (shape.reduce((a, b) => a * b, 1) !== x.channels)
      throw configError(param, `shape [${shape.join(', ')}] does not hold ${x.channels} factors`);
    return this.add({ kind: 'channelScale', param: this.claim(param), channels: x.channels, shape }, [x], x.channels);
  }

  /** Multi-head self-attention (see AttentionOp): global, or in (shifted) windows. */
  attention(
    x: Ref,
    key: string,
    o: { heads: number; params: 'mha' | 'qkv'; window?: number | Pair; shift?: number | Pair; relativePositionBias?: boolean },
  ): Ref {
    if (x.channels % o.heads !== 0) throw configError(key, `${x.channels} channels not divisible by ${o.heads} heads`);
    const op: Op = { kind: 'attention', key: this.claim(key), channels: x.channels, heads: o.heads, params: o.params };
    if (o.window !== undefined) op.window = pair(o.window);
    if (o.shift !== undefined) op.shift = pair(o.shift);
    if (o.relativePositionBias) op.relativePositionBias = true;
    return this.add(op, [x], x.channels);
  }

  /** Swin's PatchMerging gather (4C channels at half the size; see PatchMergeOp). */
  patchMerge(x: Ref): Ref {
    return this.add({ kind: 'patchMerge' }, [x], 4 * x.channels);
  }

  /** ViT: patch map -> token row with the class token in front (see ClassTokenOp). */
  classToken(patches: Ref, param: string): Ref {
    return this.add({ kind: 'classToken', param: this.claim(param), channels: patches.channels }, [patches], patches.channels);
  }

  /** ViT: tokens + positional embedding trained on `grid` patches, resized for other grids (see PosEmbedOp). */
  posEmbed(tokens: Ref, patches: Ref, param: string, grid: number | Pair): Ref {
    return this.add(
      { kind: 'posEmbed', param: this.claim(param), channels: tokens.channels, grid: pair(grid) },
      [tokens, patches],
      tokens.channels,
    );
  }

  /** A token row as a map of the patch grid, class token dropped (see TokensToMapOp). */
  tokensToMap(tokens: Ref, patches: Ref): Ref {
    return this.add({ kind: 'tokensToMap' }, [tokens, patches], tokens.channels);
  }

  /** Names `x` as an extraction point and returns it unchanged. */
  tap(name: string, x: Ref, extra: Omit<TapSpec, 'name' | 'node'> = {}): Ref {
    const taken = new Set(this.taps.flatMap((t) => [t.name, ...(t.aliases ?? [])]));
    for (const n of [name, ...(extra.aliases ?? [])]) {
      if (taken.has(n)) throw configError(n, 'tap name or alias used twice in one graph');
    }
    this.taps.push({ name, node: x.id, ...extra });
    return x;
  }

  build(output?: Ref): Graph {
    if (this.nodes.length === 0 || this.nodes[0].op.kind !== 'input') throw configError('graph', 'has no input');
    return { nodes: this.nodes.slice(), taps: this.taps.slice(), output: output?.id ?? this.nodes.length - 1 };
  }

  private pool(kind: 'maxPool' | 'avgPool', x: Ref, o: PoolOptions): Ref {
    const kernel = pair(o.k);
    return this.add(
      {
        kind,
        kernel,
        stride: pair(o.stride ?? kernel),
        pad: pair(o.pad ?? 0),
        ceil: o.ceil ?? false,
        countIncludePad: o.countIncludePad ?? true,
      },
      [x],
      x.channels,
    );
  }

  private sameChannels(what: string, a: Ref, b: Ref) {
    if (a.channels !== b.channels) throw configError(what, `channel mismatch ${a.channels} vs ${b.channels}`);
  }

  private claim(key: string): string {
    if (this.keys.has(key)) throw configError(key, 'parameter key used twice in one graph');
    this.keys.add(key);
    return key;
  }

  private add(op: Op, inputs: Ref[], channels: number): Ref {
    const id = this.nodes.length;
    this.nodes.push({ id, op, inputs: inputs.map((r) => r.id), channels });
    return { id, channels };
  }
}
