import { type ChildProcess, fork } from 'node:child_process';
import type { CellOutcome } from '../store/results-store';
import type { CellConfig } from '../suite/grid';
import type { CellChildMessage, RunCellMessage } from './processor-init';

/** Why a cell did not give a result: its error text, and the DplError code when it had one. */
export class CellFailed extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The cell was taken away (its job removed, or run by another worker): its process was killed. */
export class CellCancelled extends Error {}

export interface CellRun {
  result: Promise<CellOutcome>;
  /** Kills the process computing the cell; `result` rejects with CellCancelled. */
  cancel(reason: string): void;
}

/**
 * The worker's cell processes. A process is busy with exactly one cell from `run` until its answer
 * for that cell (checked by hash) arrives; only then may it take another. A process that is
 * cancelled, answers for another cell or dies is killed and never reused, so no result can be
 * credited to a job it was not computed for.
 */
export class ChildPool {
  private idle: ChildProcess[] = [];
  private readonly all = new Set<ChildProcess>();

  constructor(
    private readonly file: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private spawn(): ChildProcess {
    const c = fork(this.file, [], { env: this.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.all.add(c);
    c.once('exit', () => {
      this.all.delete(c);
      this.idle = this.idle.filter((x) => x !== c);
    });
    return c;
  }

  run(
    hash: string,
    config: CellConfig,
    scratchDir: string,
    on: { progress?: (p: { label: string; done: number; total: number }) => void; log?: (m: string) => void },
  ): CellRun {
    const child = this.idle.pop() ?? this.spawn();
    let cancel: (reason: string) => void = () => undefined;
    const result = new Promise<CellOutcome>((resolve, reject) => {
      let settled = false;
      const finish = (reuse: boolean) => {
        settled = true;
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (reuse && child.connected && child.exitCode === null) this.idle.push(child);
        else child.kill('SIGKILL');
      };
      const onMessage = (m: CellChildMessage) => {
        if (m.type === 'progress' && m.hash === hash) on.progress?.(m);
        else if (m.type === 'log' && m.hash === hash) on.log?.(m.message);
        else if (m.type === 'end') {
          if (m.hash !== hash) {
            finish(false);
            reject(new CellFailed(`the cell process answered for cell ${m.hash} while running ${hash}; it was stopped`));
          } else if (m.ok) {
            finish(true);
            resolve(m.outcome);
          } else {
            finish(!m.busy);
            reject(new CellFailed(m.error, m.code));
          }
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        finish(false);
        reject(new CellFailed(`the cell process exited (${signal ?? `code ${code}`}) before the cell finished`));
      };
      cancel = (reason) => {
        if (settled) return;
        finish(false);
        reject(new CellCancelled(reason));
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ type: 'run', hash, config, scratchDir } satisfies RunCellMessage);
    });
    return { result, cancel: (reason) => cancel(reason) };
  }

  /** Kills every cell process (the worker is stopping). */
  close(): void {
    for (const c of this.all) c.kill('SIGKILL');
    this.idle = [];
  }

  get size(): number {
    return this.all.size;
  }
}
