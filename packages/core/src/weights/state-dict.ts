/** A checkpoint's tensors, as read from disk, before any tfjs tensor is made. */
export type TorchDType = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** One tensor of a state_dict: dtype, shape and float32 data. */
export interface TensorRecord {
  dtype: TorchDType;
  /** PyTorch shape (e.g. OIHW for a conv weight). */
  shape: number[];
  /** Values in row-major (C) order, converted to float32 (int64 counters included). */
  data: Float32Array;
}

/** state_dict key -> tensor, in the file's order. */
export type StateDict = Map<string, TensorRecord>;

/** The number of elements of a shape. */
export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A tensor's dtype and shape, known from a file's header before any of its data is read. */
export interface TensorHeader {
  dtype: TorchDType;
  shape: number[];
}

/** Options of the weight readers: a check of every name and shape before any data is read. */
export interface ReadWeightsOptions {
  /**
   * Called with every tensor's dtype and shape once the header (or pickle) is parsed and checked,
   * before any tensor data is read; throw to refuse the file (e.g. `(h) => backbone.prepareWeights(h, path)`).
   */
  expect?: (header: Map<string, TensorHeader>) => void;
}
