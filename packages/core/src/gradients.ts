/**
 * tfjs-core registers no gradient functions, and its own registration module is ESM-only (jest's
 * CommonJS mode cannot load it). The @tensorflow/tfjs union bundle registers them all, into the
 * process-global registry every tfjs-core copy shares. Import this module for its side effect
 * wherever gradients are taken.
 */
import '@tensorflow/tfjs';
