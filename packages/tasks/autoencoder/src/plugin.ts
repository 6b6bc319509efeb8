import { taskPlugin } from '@dpl/core';
import { autoencoderTask } from './task';

/** The dpl plugin entry: binds the dimensionality-reduction (autoencoder) task. */
export default taskPlugin([autoencoderTask]);
