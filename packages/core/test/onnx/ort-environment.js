/**
 * A jest environment in which onnxruntime-node works. jest runs each test file in a vm context
 * with its own typed-array constructors, but onnxruntime's native binding creates its output
 * arrays in Node's main context, so its JS wrapper's `instanceof Float32Array` check rejects them.
 * Sharing the main context's typed-array constructors with the sandbox (jest already does so for
 * Uint8Array and ArrayBuffer) makes both sides agree. Use with the docblock
 *   @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED = [
  'Int8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
