/** The test kit for plugin authors, also reachable as the `@dpl/core/testkit` subpath. */
export { backboneContract, type ContractCheck, type ContractOptions } from './backbone-contract';
export { dplErrorMessage, recordingProgress, taskTestContext, type RecordedProgress, type TaskTestContextOptions } from './task-context';
export { pythonLacks, referencePython, type ReferencePython } from './python';
export { backboneParity, npyRef, type ParityCase, type ParityContext, type ParityOptions, type RefArray, type Size } from './parity';
export { fixtureFormats, relativeMaxError, torchAvailable, torchFixture, type Fixture, type FixtureRequest } from './torch-reference';
export { perceptualTrainingSteps, type TrainingStepsOptions, type TrainingStepsResult } from './training-steps';
