/**
 * A ParamStore owns the trainable (and non-trainable, e.g. BatchNorm running statistics)
 * variables of one model, by name.
 *
 * Design: parameters are created lazily, on the first call of `param(name, shape, init)` (the
 * functional layers in nn.ts call it on every forward pass; later calls return the same variable
 * and check the shape). A model is therefore written once, as a function, and its parameters come
 * into being on its first forward pass; `build(forward)` runs that pass once (in eval mode, so no
 * BatchNorm statistics move) before training, because an optimizer only trains the variables that
 * exist when it computes gradients (trainLoop refuses a store that grows during a step).
 *
 * Initial values are deterministic and backend-independent: each parameter draws from its own
 * stream, mulberry32(hashSeed(seed, name)), so adding a layer does not change the others.
 *
 * Layouts are tfjs' (NHWC activations): conv weight HWIO [kh, kw, in, out], transposed-conv
 * weight [kh, kw, out, in], linear weight [in, out]. Checkpoints store them as they are.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError, weightsError } from '../errors';
import { fillNormal, hashSeed, mulberry32 } from '../util/random';
import { readCheckpoint, writeCheckpoint, type CheckpointMeta, type CheckpointValues } from './checkpoint';

export type { CheckpointMeta } from './checkpoint';

/** How a parameter's initial values are drawn. */
export type Init =
  { kind: 'uniform'; bound: number } | { kind: 'constant'; value: number } | { kind: 'normal'; std: number; mean?: number };

/**
 * PyTorch's default bound for Conv2d / ConvTranspose2d / Linear weights and biases:
 * kaiming_uniform_(a = sqrt(5)) gives gain sqrt(2 / (1 + 5)) = sqrt(1/3) and bound
 * gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in); the bias uses the same bound.
 */
export const torchDefaultBound = (fanIn: number): number => 1 / Math.sqrt(fanIn);

/** A U(-1/sqrt(fan_in), 1/sqrt(fan_in)) init, PyTorch's default for conv and linear layers. */
export const torchDefaultInit = (fanIn: number): Init => ({ kind: 'uniform', bound: torchDefaultBound(fanIn) });

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The initial values of parameter `name` under `seed` (what `param` creates). */
export function initialValues(seed: number, name: string, shape: readonly number[], init: Init): Float32Array {
  const out = new Float32Array(numel(shape));
  if (init.kind === 'constant') return out.fill(init.value);
  const rand = mulberry32(hashSeed(seed, name));
  if (init.kind === 'normal') return fillNormal(out, rand, init.std, init.mean ?? 0);
  const b = init.bound;
  for (let i = 0; i < out.length; i++) out[i] = (2 * rand() - 1) * b;
  return out;
}

function checkShape(name: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw inputError(`parameter '${name}'`, `shape must be positive integers, got ${JSON.stringify(shape)}`);
  }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Parameter values copied out of the store (no tensors), e.g. the best weights so far. */
export type ParamSnapshot = CheckpointValues;

/** A process-wide counter (shared by duplicate copies of @dpl/core, as tfjs' registry is). */
const COUNTER = Symbol.for('dpl.paramStoreCount');
function nextStoreId(): number {
  const g = globalThis as unknown as Record<symbol, number | undefined>;
  g[COUNTER] = (g[COUNTER] ?? 0) + 1;
  return g[COUNTER]!;
}

/** The trainable parameters of a model, by PyTorch-style name, created on first use; saved and restored as checkpoints. */
export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly nameByVar = new Map<tf.Variable, string>();
  /** Prefix of the tfjs variable names: tfjs requires them unique process-wide. */
  private readonly prefix = `dpl${nextStoreId()}`;
  private disposed = false;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed)) throw inputError('ParamStore seed', `must be an integer, got ${seed}`);
  }

  /**
   * The variable `name`: created from `init` on the first call, returned as it is afterwards (a
   * later call with another shape is an error: two layers sharing a name by mistake).
   */
  param<R extends tf.Rank = tf.Rank>(name: string, shape: readonly number[], init: Init, trainable = true): tf.Variable<R> {
    this.checkAlive();
    const v = this.vars.get(name);
    if (v) {
      if (!sameShape(v.shape, shape)) {
        throw inputError(
          `parameter '${name}'`,
          `was created with shape [${v.shape.join(', ')}] but is now requested as [${shape.join(', ')}]`,
          'give each layer its own name',
        );
      }
      if (v.trainable !== trainable) {
        throw inputError(
          `parameter '${name}'`,
          `was created ${v.trainable ? 'trainable' : 'non-trainable'} and is now requested ${trainable ? 'trainable' : 'non-trainable'}`,
          'give each layer its own name',
        );
      }
      return v as tf.Variable<R>;
    }
    checkShape(name, shape);
    const created = tf.tidy(() =>
      tf.variable(tf.tensor(initialValues(this.seed, name, shape, init), [...shape]), trainable, `${this.prefix}/${name}`),
    );
    this.vars.set(name, created);
    this.nameByVar.set(created, name);
    return created as tf.Variable<R>;
  }

  /** The existing variable `name`. */
  get<R extends tf.Rank = tf.Rank>(name: string): tf.Variable<R> {
    const v = this.vars.get(name);
    if (!v)
      throw inputError(
        `parameter '${name}'`,
        'does not exist in this ParamStore',
        `known: ${this.names().join(', ') || '(none yet: run the model once)'}`,
      );
    return v as tf.Variable<R>;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  /** Parameter names in creation order. */
  names(): string[] {
    return [...this.vars.keys()];
  }

  get size(): number {
    return this.vars.size;
  }

  /** The store's name of a variable it owns (e.g. to name a parameter in an error). */
  nameOf(v: tf.Variable): string | undefined {
    return this.nameByVar.get(v);
  }

  /** Trainable variables in creation order (a stable order: tfjs' Adam keys its slots by position). */
  trainableVariables(): tf.Variable[] {
    return [...this.vars.values()].filter((v) => v.trainable);
  }

  /** Number of scalar parameters (trainable only by default). */
  count(trainableOnly = true): number {
    let n = 0;
    for (const v of this.vars.values()) if (!trainableOnly || v.trainable) n += v.size;
    return n;
  }

  /**
   * Creates the parameters by running `forward` once (inside tf.tidy; its result is disposed).
   * Run it in eval mode so BatchNorm running statistics stay put. Returns the names created.
   */
  build(forward: () => tf.TensorContainer): string[] {
    const before = new Set(this.vars.keys());
    tf.tidy(() => {
      forward();
    });
    return this.names().filter((n) => !before.has(n));
  }

  /** Copies every parameter out (trainable and not). */
  async snapshot(): Promise<ParamSnapshot> {
    this.checkAlive();
    const out: ParamSnapshot = new Map();
    for (const [name, v] of this.vars) out.set(name, { shape: v.shape.slice(), data: Float32Array.from((await v.data()) as Float32Array) });
    return out;
  }

  /** Every difference between `values` and the store's parameters (names and shapes). */
  mismatches(values: ParamSnapshot, source = 'snapshot'): string[] {
    const problems: string[] = [];
    for (const [name, v] of this.vars) {
      const t = values.get(name);
      if (!t) problems.push(`missing '${name}' [${v.shape.join(', ')}]`);
      else if (!sameShape(t.shape, v.shape))
        problems.push(`'${name}' has shape [${t.shape.join(', ')}] in the ${source}, the model expects [${v.shape.join(', ')}]`);
    }
    for (const [name, t] of values) if (!this.vars.has(name)) problems.push(`unexpected '${name}' [${t.shape.join(', ')}]`);
    return problems;
  }

  /** Assigns values to the store's parameters after checking that names and shapes match exactly. */
  restore(values: ParamSnapshot): void {
    this.checkAlive();
    const problems = this.mismatches(values);
    if (problems.length > 0) throw inputError('snapshot', `does not match the model's parameters: ${problems.join('; ')}`);
    this.assignAll(values);
  }

  /** Writes all parameters to `file` (safetensors) and `file`.json (step, metric, config). */
  async save(file: string, meta: CheckpointMeta = {}): Promise<void> {
    const snap = await this.snapshot();
    const trainable = new Set(this.trainableVariables().map((v) => this.nameOf(v)!));
    await writeCheckpoint(file, snap, trainable, meta);
  }

  /**
   * Loads a checkpoint written by `save`: names and shapes must match this store exactly (each
   * mismatch is named). Only safetensors is read: a checkpoint never executes code.
   */
  async load(file: string): Promise<CheckpointMeta> {
    this.checkAlive();
    const { values, meta } = await readCheckpoint(file);
    const problems = this.mismatches(values, 'checkpoint');
    if (problems.length > 0) {
      throw weightsError(
        file,
        `does not match the model's parameters: ${problems.join('; ')}`,
        'load a checkpoint written by the same model configuration (same layers, names and sizes)',
      );
    }
    this.assignAll(values);
    return meta;
  }

  private assignAll(values: ParamSnapshot): void {
    for (const [name, v] of this.vars) {
      const t = values.get(name)!;
      tf.tidy(() => v.assign(tf.tensor(t.data, t.shape)));
    }
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.nameByVar.clear();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw inputError('ParamStore', 'was disposed', 'create a new store');
  }
}
