/**
 * Thin helpers over the protobufjs-generated ONNX classes of `onnx-proto` (schema of ONNX 1.10,
 * IR version 8): typed constructors for the few message shapes the exporter writes.
 */
import { onnx } from 'onnx-proto';

export { onnx };

/** IR version 8 is what the onnx-proto schema describes; opset 17 needs IR >= 8. */
export const IR_VERSION = 8;
export const OPSET = 17;

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

/**
 * An attribute. Plain numbers and number lists are INT / INTS (kernel shapes, pads, flags);
 * floats (BatchNormalization's epsilon) are passed as { float } so they are never truncated.
 */
export function attr(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue> = {},
  name?: string,
): onnx.INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name: name ?? outputs[0],
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
  };
}

/** A float32 initializer; the values go in raw_data (little-endian), which encodes as one copy. */
export function floatTensor(name: string, dims: number[], data: Float32Array): onnx.ITensorProto {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes };
}

/** An int64 initializer (Pad's pads, Reshape shapes). */
export function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  const data = new BigInt64Array(values.map((v) => BigInt(v)));
  return { name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) };
}

/** A float32 value with named symbolic dimensions (strings) or fixed ones (numbers). */
export function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function model(graph: onnx.IGraphProto, producerVersion: string, metadata: Record<string, string>): Uint8Array {
  const m: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'dpl',
    producerVersion,
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish();
}
