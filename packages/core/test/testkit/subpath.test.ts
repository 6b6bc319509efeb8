import * as core from '@dpl/core';
import * as testkit from '@dpl/core/testkit';

// plugin authors import the test kit as @dpl/core/testkit (an exports subpath of the package)
it('@dpl/core/testkit gives the test kit: the same functions as the main entry', () => {
  expect(Object.keys(testkit).sort()).toEqual([
    'PYTHON',
    'backboneContract',
    'backboneParity',
    'dplErrorMessage',
    'fixtureFormats',
    'npyRef',
    'recordingProgress',
    'relativeMaxError',
    'taskTestContext',
    'torchAvailable',
    'torchFixture',
  ]);
  expect(testkit.backboneContract).toBe(core.backboneContract);
  expect(testkit.taskTestContext).toBe(core.taskTestContext);
});
