/** The test kit for plugin authors, also reachable as the `@dpl/core/testkit` subpath. */
export { backboneContract, type ContractCheck, type ContractOptions } from './backbone-contract';
export { dplErrorMessage, recordingProgress, taskTestContext, type RecordedProgress, type TaskTestContextOptions } from './task-context';
export { pythonLacks, referencePython, type ReferencePython } from './python';
