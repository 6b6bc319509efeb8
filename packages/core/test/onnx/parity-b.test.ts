/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/** ONNX parity, second half of the study networks (see parity-cases.ts). */
import { PARITY_HALVES, parityCases } from './parity-cases';

parityCases(PARITY_HALVES[1]);
