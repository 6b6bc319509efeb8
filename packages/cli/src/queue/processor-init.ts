import * as path from 'node:path';
import type { DataMap } from './data-map';

/** How `dpl worker` configures its sandboxed processors (JSON in this environment variable). */
export const PROCESSOR_ENV = 'DPL_QUEUE_WORKER';

export interface ProcessorInit {
  cwd: string;
  plugins: string[];
  backend?: string;
  dataMap: DataMap;
  /** Keep each cell's working directory under this folder; default: a temp dir removed afterwards. */
  scratch?: string;
}

/** The processor file BullMQ forks: the built one (tests run the sources, so map those to dist). */
export const processorFile = (): string =>
  __filename.endsWith('.ts') ? path.resolve(__dirname, '../../dist/queue/processor.js') : path.join(__dirname, 'processor.js');
