/**
 * Test helpers for the op parity tests: a seeded RNG, running a function with its gradients on
 * a given backend (data crosses backends as plain arrays), tolerance checks that record the
 * measured differences, and a bridge to the PyTorch reference interpreter.
 */
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { referencePython } from '../../src/testkit/python';

export type BackendName = 'wasm' | 'cpu';

export async function useBackend(name: BackendName): Promise<void> {
  tf.env().set('PROD', true);
  if (tf.getBackend() !== name) {
    if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  }
  await tf.ready();
}

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-1, 1). */
export function randArray(n: number, r: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * r() - 1;
  return a;
}

export const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export interface Arr {
  data: Float32Array;
  shape: number[];
}

export const arr = (shape: number[], r: () => number): Arr => ({ data: randArray(numel(shape), r), shape });

/**
 * Runs f on `backend` and returns its value and the gradients of sum(f(...) * dy) with respect
 * to every input. Checks that the computation leaves no tensor behind.
 */
export async function valueAndGrads(
  backend: BackendName,
  f: (...ts: tf.Tensor[]) => tf.Tensor,
  inputs: Arr[],
  dy: Arr | ((valueShape: number[]) => Arr),
): Promise<{ value: Arr; grads: Arr[] }> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const ts = inputs.map((a) => tf.tensor(a.data, a.shape));
  const probe = typeof dy === 'function' ? tf.tidy(() => f(...ts)) : null;
  const dyArr = typeof dy === 'function' ? dy(probe!.shape) : dy;
  probe?.dispose();
  const dyt = tf.tensor(dyArr.data, dyArr.shape);
  const { value, grads } = tf.valueAndGrads(f)(ts, dyt);
  const out = {
    value: { data: Float32Array.from(value.dataSync()), shape: value.shape.slice() },
    grads: grads.map((g) => ({ data: Float32Array.from(g.dataSync()), shape: g.shape.slice() })),
  };
  tf.dispose([value, ...grads, dyt, ...ts]);
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`valueAndGrads leaked ${after - before} tensors on ${backend}`);
  return out;
}

/** Runs f on `backend` (no gradients) and copies the result out. */
export async function valueOn(backend: BackendName, f: (...ts: tf.Tensor[]) => tf.Tensor, inputs: Arr[]): Promise<Arr> {
  await useBackend(backend);
  const ts = inputs.map((a) => tf.tensor(a.data, a.shape));
  const v = f(...ts);
  const out = { data: Float32Array.from(v.dataSync()), shape: v.shape.slice() };
  tf.dispose([v, ...ts]);
  return out;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Largest measured |got - ref| / max|ref| per comparison kind, for the printed summary. */
export const worst = new Map<string, number>();

/**
 * Asserts max|got - ref| <= relTol * max|ref| (and equal shapes when given). Records the
 * measured relative difference under `kind`.
 */
export function expectClose(
  label: string,
  kind: string,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  relTol: number,
  gotShape?: readonly number[],
  refShape?: readonly number[],
): void {
  if (gotShape && refShape) expect(`${label} shape [${gotShape}]`).toBe(`${label} shape [${refShape}]`);
  expect(`${label} length ${got.length}`).toBe(`${label} length ${ref.length}`);
  const scale = Math.max(maxAbs(ref), 1e-12);
  const rel = maxAbsDiff(got, ref) / scale;
  worst.set(kind, Math.max(worst.get(kind) ?? 0, rel));
  const verdict = rel <= relTol ? 'ok' : `max|diff|/max|ref| = ${rel.toExponential(2)} > ${relTol}`;
  expect(`${label}: ${verdict}`).toBe(`${label}: ok`);
}

export function printWorst(title: string): void {
  const lines = [...worst.entries()].map(([k, v]) => `  ${k}: ${v.toExponential(2)}`);
  console.log(`${title}: largest max|diff|/max|ref| per comparison\n${lines.join('\n')}`);
}

const PY = referencePython().python;

/** Whether the reference interpreter has torch; logs why not. */
export function torchAvailable(): boolean {
  const r = spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(`skipping PyTorch parity: ${PY} cannot import torch (${(r.stderr || String(r.error)).trim().split('\n').pop()})`);
    return false;
  }
  return true;
}

/** Runs a Python script with JSON on stdin and returns the JSON it prints. */
export function runPython<T>(script: string, input: unknown): T {
  const r = spawnSync(PY, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
