import * as path from 'node:path';
import type { CellOutcome } from '../store/results-store';
import type { CellConfig } from '../suite/grid';
import type { DataMap } from './data-map';

/** How `dpl worker` configures its cell processes (JSON in this environment variable). */
export const PROCESSOR_ENV = 'DPL_QUEUE_WORKER';

export interface ProcessorInit {
  cwd: string;
  plugins: string[];
  backend?: string;
  dataMap: DataMap;
}

/** Worker -> cell process: run one cell (a process runs one cell at a time). */
export interface RunCellMessage {
  type: 'run';
  hash: string;
  config: CellConfig;
  scratchDir: string;
}

/** Cell process -> worker; every message names the cell it is about. */
export type CellChildMessage =
  | { type: 'progress'; hash: string; label: string; done: number; total: number }
  | { type: 'log'; hash: string; message: string }
  | { type: 'end'; hash: string; ok: true; outcome: CellOutcome }
  | { type: 'end'; hash: string; ok: false; error: string; code?: string; busy?: boolean };

/** The cell process's file: the built one (tests run the sources, so map those to dist). */
export const processorFile = (): string =>
  __filename.endsWith('.ts') ? path.resolve(__dirname, '../../dist/queue/cell-child.js') : path.join(__dirname, 'cell-child.js');
