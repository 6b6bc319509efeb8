/**
 * Test helper: runs batches of image ops through Pillow/torchvision (pil_ref.py, one Python
 * process per batch) and generates deterministic test images.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AnyImage, Image8, ImageF } from '../../src/image/image';
import { mulberry32 } from '../../src/util/random';
import { referencePython } from '../../src/testkit/python';

// Hot loops use these locals: global lookups (Math.*) are very slow inside jest's vm sandbox.
const { abs, cos, floor, max, min, round, PI } = Math;

export const PYTHON = referencePython().python;

/**
 * Why the reference cannot run (undefined when it can). `modules`: what the tests import. Found
 * with importlib's find_spec rather than imported (importing torchvision alone takes seconds); a
 * module that is present but broken makes the reference run fail loudly instead.
 */
export function referenceUnavailable(modules: string[]): string | undefined {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const code = `import importlib.util, sys; m = [n for n in sys.argv[1:] if importlib.util.find_spec(n) is None]; print(', '.join(m)); sys.exit(1 if m else 0)`;
  const r = spawnSync(PYTHON, ['-c', code, ...modules], { encoding: 'utf8' });
  if (r.status !== 0) return `${PYTHON} lacks ${(r.stdout || '').trim() || `one of ${modules.join(', ')} (${(r.stderr || '').trim()})`}`;
  return undefined;
}

export type Step =
  | { op: 'resize'; size: [number, number]; filter: string }
  | { op: 'gaussian'; radius: number }
  | { op: 'boxblur'; radius: number }
  | { op: 'crop'; box: [number, number, number, number] }
  | { op: 'tv_resize'; size: number; filter: string }
  | { op: 'tv_centercrop'; size: [number, number] }
  | { op: 'tv_totensor' };

export interface RefJob {
  input: AnyImage;
  steps: Step[];
  /** Channels of the result (defaults to the input's). */
  outChannels?: number;
  /** Whether the result is float32 (defaults to the input's kind). */
  outFloat?: boolean;
}

export interface RefRun {
  info: { pillow: string; reducing_gap_default: string };
  outputs: AnyImage[];
}

function modeOf(img: AnyImage): string {
  if (img.data instanceof Float32Array) {
    if (img.channels !== 1) throw new Error('float reference images must have 1 channel (PIL mode F)');
    return 'F';
  }
  const m = ({ 1: 'L', 3: 'RGB', 4: 'RGBA' } as Record<number, string>)[img.channels];
  if (!m) throw new Error(`no PIL mode for ${img.channels} channels`);
  return m;
}

/** Runs all jobs in one Python process; identical inputs are written once. */
export function runReference(jobs: RefJob[]): RefRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-pil-'));
  try {
    const names = new Map<AnyImage, string>();
    const spec = jobs.map((job, i) => {
      let input = names.get(job.input);
      if (!input) {
        input = `in${names.size}.raw`;
        names.set(job.input, input);
        const d = job.input.data;
        fs.writeFileSync(path.join(dir, input), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
      }
      return {
        input,
        mode: modeOf(job.input),
        width: job.input.width,
        height: job.input.height,
        steps: job.steps,
        output: `out${i}.raw`,
      };
    });
    fs.writeFileSync(path.join(dir, 'jobs.json'), JSON.stringify(spec));
    const r = spawnSync(PYTHON, [path.join(__dirname, 'pil_ref.py'), dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pil_ref.py failed: ${r.stderr}`);
    const res = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as {
      info: RefRun['info'];
      results: { width: number; height: number }[];
    };
    const outputs = jobs.map((job, i): AnyImage => {
      const buf = fs.readFileSync(path.join(dir, `out${i}.raw`));
      const { width, height } = res.results[i];
      const channels = job.outChannels ?? job.input.channels;
      const isFloat = job.outFloat ?? job.input.data instanceof Float32Array;
      const data = isFloat ? new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)) : new Uint8Array(buf);
      return { width, height, channels, data } as AnyImage;
    });
    return { info: res.info, outputs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Max |a - b| over all values (Infinity when sizes differ), and how many values differ. */
export function compare(a: AnyImage, b: AnyImage): { maxAbs: number; differing: number } {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels || a.data.length !== b.data.length) {
    return { maxAbs: Infinity, differing: Infinity };
  }
  let maxAbs = 0;
  let differing = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = abs(a.data[i] - b.data[i]);
    if (d !== 0) differing++;
    if (d > maxAbs || d !== d) maxAbs = d !== d ? Infinity : d; // d !== d: NaN
  }
  return { maxAbs, differing };
}

/** Uniform random 8-bit noise (the hardest case for resampling: every tap matters). */
export function noiseImage(width: number, height: number, channels: number, seed: number): Image8 {
  const rand = mulberry32(seed);
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = floor(rand() * 256);
  return { width, height, channels, data };
}

/**
 * Smooth image: a few random low-frequency cosines per channel, over-driven so that regions
 * saturate at 0 and 255, plus a hard-edged bar (ringing of bicubic/lanczos must be clipped).
 */
export function smoothImage(width: number, height: number, channels: number, seed: number): Image8 {
  const rand = mulberry32(seed);
  const data = new Uint8Array(width * height * channels);
  for (let c = 0; c < channels; c++) {
    const waves = Array.from({ length: 3 }, () => ({
      fx: (rand() * 3) / width,
      fy: (rand() * 3) / height,
      ph: rand() * 2 * Math.PI,
      amp: 60 + rand() * 60,
    }));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v = 128;
        for (const w of waves) v += w.amp * cos(2 * PI * (w.fx * x + w.fy * y) + w.ph);
        if (x >= width / 3 && x < width / 2) v = c % 2 === 0 ? 255 : 0;
        data[(y * width + x) * channels + c] = max(0, min(255, round(v)));
      }
    }
  }
  return { width, height, channels, data };
}

/** Single-channel float image with values in [lo, hi). */
export function floatImage(width: number, height: number, seed: number, lo = 0, hi = 1): ImageF {
  const rand = mulberry32(seed);
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = lo + rand() * (hi - lo);
  return { width, height, channels: 1, data };
}
