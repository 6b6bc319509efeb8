import * as core from '@dpl/core';
import * as testkit from '@dpl/core/testkit';

// plugin authors import the test kit as @dpl/core/testkit (an exports subpath of the package)
it('@dpl/core/testkit gives the test kit: the functions the main entry has too', () => {
  expect(Object.keys(testkit)).toEqual(
    expect.arrayContaining(['backboneContract', 'dplErrorMessage', 'recordingProgress', 'taskTestContext']),
  );
  expect(testkit.backboneContract).toBe(core.backboneContract);
  expect(testkit.taskTestContext).toBe(core.taskTestContext);
});
