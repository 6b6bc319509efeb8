/**
 * Small seeded PRNG (mulberry32) so permutation tests are reproducible across runs and machines.
 * 32 bits of state are plenty for shuffling a few hundred items 10^4 times; this is not a
 * cryptographic or high-dimensional-simulation generator.
 */
export type Rng = () => number;

// Module-level alias: under jest's vm context every global lookup (`Math`) in a hot loop goes
// through the context's interceptors and was ~50x slower; a local binding avoids that.
const imul = Math.imul;

// jscpd:ignore-start (core's util/random.ts has the same generator: @dpl/metrics depends on nothing, and one seed must give one stream in both)
/** Returns a generator of floats in [0, 1) determined entirely by `seed` (any integer). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// jscpd:ignore-end

/** Uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return (rng() * n) | 0; // n < 2^31; avoids a global lookup per call (see `imul`)
}

/** In-place Fisher-Yates shuffle; returns its argument. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(rng: Rng, a: T): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}
