/** Browser stand-in for core's onnx/engine.ts: the page runs networks on tfjs only (worker/compare.ts builds that engine). */
import { configError } from '../../../core/src/errors';

export function createInferenceEngine(): Promise<never> {
  return Promise.reject(configError('engine', 'onnx is not available in the browser', 'the page computes on tfjs'));
}
