/**
 * tfjs-core registers no gradient functions, and its own registration module
 * (`@tensorflow/tfjs-core/dist/register_all_gradients`) is ESM-only, which neither Node's
 * require() nor jest's CommonJS mode loads. tfjs-layers' CommonJS bundle registers every core
 * gradient when it loads, into the process-global registry that tfjs-core reads; it needs only
 * tfjs-core, so core depends on it instead of the whole @tensorflow/tfjs union (which also pulls
 * in webgl, the converter and tfjs-data). Import this module for its side effect wherever
 * gradients are taken.
 */
import '@tensorflow/tfjs-layers';
