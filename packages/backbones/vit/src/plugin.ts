import { backbonePlugin } from '@dpl/core';

/** placeholder until the family lands */
export default backbonePlugin([]);
