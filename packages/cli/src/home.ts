import * as os from 'node:os';
import * as path from 'node:path';

/** $DPL_HOME: the weight and model caches (default ~/.cache/dpl). */
export const dplHome = () => process.env.DPL_HOME ?? path.join(os.homedir(), '.cache', 'dpl');
