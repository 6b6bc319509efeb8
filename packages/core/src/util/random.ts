/** Deterministic, backend-independent randomness (the same seed gives the same numbers everywhere). */

const imul = Math.imul;

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a string mixed with a seed: independent streams per parameter name. */
export function hashSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// module-level aliases: global lookups in hot loops are very slow inside jest's sandbox
const { sqrt, log, cos, sin, PI } = Math;

/** Fills `out` with N(0, std^2) samples (Box-Muller). */
export function fillNormal(out: Float32Array, rand: () => number, std = 1, mean = 0): Float32Array {
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand();
    const v = 2 * PI * rand();
    const r = sqrt(-2 * log(u)) * std;
    out[i] = mean + r * cos(v);
    if (i + 1 < n) out[i + 1] = mean + r * sin(v);
  }
  return out;
}

/** Fisher-Yates shuffle of 0..n-1 with a seeded generator. */
export function permutation(n: number, rand: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
