/**
 * Test-side access to the PyTorch reference (torch_features.py beside this file): the test kit's
 * implementation, re-exported for the repository's tests that import it from here.
 */
import { referencePython } from '../../packages/core/src/testkit/python';

/** The reference interpreter (the test kit's referencePython). */
export const PYTHON = referencePython().python;
export {
  fixtureFormats,
  relativeMaxError,
  torchAvailable,
  torchFixture,
  type Fixture,
  type FixtureRequest,
} from '../../packages/core/src/testkit/torch-reference';
