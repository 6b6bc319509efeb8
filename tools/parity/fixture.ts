/**
 * Test-side access to the PyTorch reference (torch_features.py beside this file): the test kit's
 * implementation, re-exported for the repository's tests that import it from here.
 */
export {
  PYTHON,
  fixtureFormats,
  relativeMaxError,
  torchAvailable,
  torchFixture,
  type Fixture,
  type FixtureRequest,
} from '../../packages/core/src/testkit/torch-reference';
