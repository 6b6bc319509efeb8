/**
 * tfjs-core registers no gradient functions, and its own registration module
 * (`@tensorflow/tfjs-core/dist/register_all_gradients`) is ESM-only, which neither Node's
 * require() nor jest's CommonJS mode loads. tfjs-layers' CommonJS bundle registers every core
 * gradient when it loads, into the process-global registry that tfjs-core reads; it needs only
 * tfjs-core, so core depends on it instead of the whole @tensorflow/tfjs union (which also pulls
 * in webgl, the converter and tfjs-data). Import this module for its side effect wherever
 * gradients are taken.
 */
export {};
// require(), not import: a side-effect import would stay in the published .d.ts and pull
// tfjs-layers' typings (which do not type-check under strict) into every plugin's compilation
require('@tensorflow/tfjs-layers');
