/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/** ONNX parity, first half of the study networks (see parity-cases.ts). */
import { studyBackbones } from './helpers';
import { PARITY_HALVES, parityCases, STUDY_IDS } from './parity-cases';

it('the two parity files cover exactly the 14 study networks', () => {
  const ids = studyBackbones()
    .map((b) => b.id)
    .sort();
  expect(ids).toEqual([...STUDY_IDS].sort());
  expect([...PARITY_HALVES[0], ...PARITY_HALVES[1]].sort()).toEqual(ids);
});

parityCases(PARITY_HALVES[0]);
