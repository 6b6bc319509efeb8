/** The messages between the page (main.ts) and the worker that computes (worker/worker.ts). */

/** The tfjs backends the page can use; 'auto' tries WebGPU, then WebGL, then wasm, then cpu. */
export type BackendWish = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKEND_WISHES: BackendWish[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

/** An image decoded by the browser: RGB in [0,1], row-major HWC. */
export interface DecodedImage {
  name: string;
  width: number;
  height: number;
  data: Float32Array;
}

/** Bytes of a file the user chose (or the page fetched from the weight cache). */
export interface NamedBytes {
  name: string;
  bytes: ArrayBuffer;
}

export type Mode =
  | { kind: 'lpips'; net: 'alex' | 'vgg' | 'squeeze'; version: '0.1' | '0.0'; lin: boolean }
  | {
      kind: 'backbone';
      backbone: string;
      points: string;
      variant: 'baseline' | 'lin';
      normalize: 'imagenet' | 'lpips' | 'signed' | 'none';
    };

export type WeightsChoice = { kind: 'file'; file: NamedBytes } | { kind: 'random'; seed: number };

export interface CompareRequest {
  type: 'compare';
  id: number;
  backend: BackendWish;
  mode: Mode;
  weights: WeightsChoice;
  /** LPIPS lin file (LPIPS mode with lin, or the backbone mode's lin variant). */
  lin: NamedBytes | null;
  pairs: { name: string; a: DecodedImage; b: DecodedImage }[];
}

export interface CatalogRequest {
  type: 'catalog';
  id: number;
  /** Starts this backend too, so the page can show the one in use before any comparison. */
  backend: BackendWish;
}

export type WorkerRequest = CompareRequest | CatalogRequest;

export interface LayerShare {
  point: string;
  /** This layer's term of the distance (spatial mean, times its point weight). */
  distance: number;
}

export interface DistanceMap {
  width: number;
  height: number;
  /** Row-major H x W, float32 (the CLI's --map .npy holds the same as [1, 1, H, W]). */
  data: Float32Array;
  max: number;
}

export interface CompareResult {
  /** The JSON record, of the same form as `dpl similarity --json`. */
  record: Record<string, unknown>;
  /** One pair: its distance, per-layer terms and map. */
  single: { distance: number; layers: LayerShare[]; map: DistanceMap } | null;
  /** Folders: a distance per pair. */
  pairs: { name: string; distance: number }[] | null;
  backend: { name: string; notes: string[] };
  /** tfjs tensors alive in the worker after the comparison (it must not grow from one comparison to the next). */
  tensors: number;
}

export interface BackboneInfo {
  id: string;
  family: string;
  points: { name: string; paper: boolean; channels: number }[];
}

export type WorkerReply =
  | { id: number; type: 'progress'; text: string }
  | { id: number; type: 'done'; result: CompareResult }
  | { id: number; type: 'catalog'; backbones: BackboneInfo[]; backend: { name: string; notes: string[] } }
  | { id: number; type: 'error'; message: string; hint: string | null; code: string };
