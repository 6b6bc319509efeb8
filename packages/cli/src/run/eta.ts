/**
 * Time left in a grid. Cells differ by orders of magnitude (a similarity cell takes seconds, a
 * super-resolution cell minutes), so one mean over finished cells misleads whenever the cheap
 * tasks finish first. A cell's cost is estimated from, in order: cells of the same task, preset
 * and backbone finished in this run, the same task and preset in this run, earlier runs in the
 * store (the dry-run estimate), and finally the mean of everything finished in this run (shown as
 * a rough ETA, `~`, since that task has no figure yet).
 */
import type { ExpandedCell } from '../suite/grid';
import { fmtSeconds } from './format';

type CellKey = Pick<ExpandedCell, 'hash' | 'task' | 'preset' | 'backbone'>;

class Means {
  private sums = new Map<string, [number, number]>();
  add(key: string, v: number): void {
    const [s, n] = this.sums.get(key) ?? [0, 0];
    this.sums.set(key, [s + v, n + 1]);
  }
  get(key: string): number | undefined {
    const e = this.sums.get(key);
    return e ? e[0] / e[1] : undefined;
  }
}

export class EtaEstimator {
  private readonly cells: Map<string, CellKey>;
  private readonly exact = new Means();
  private readonly byTask = new Means();
  private readonly all = new Means();

  /** `prior`: seconds per cell hash from earlier runs (undefined where none). */
  constructor(
    cells: CellKey[],
    private readonly prior: Map<string, number | undefined> = new Map(),
  ) {
    this.cells = new Map(cells.map((c) => [c.hash, c]));
  }

  /** A cell of this grid finished in `seconds`. */
  record(hash: string, seconds: number): void {
    const c = this.cells.get(hash);
    if (!c || !Number.isFinite(seconds)) return;
    this.exact.add(`${c.task}|${c.preset}|${c.backbone}`, seconds);
    this.byTask.add(`${c.task}|${c.preset}`, seconds);
    this.all.add('', seconds);
  }

  /** Estimated seconds of one cell, or undefined when nothing is known yet. */
  cellSeconds(hash: string): number | undefined {
    return this.estimate(hash)?.seconds;
  }

  /** The estimate and whether it is only the mean of unrelated cells (no figure for its task yet). */
  private estimate(hash: string): { seconds: number; rough: boolean } | undefined {
    const c = this.cells.get(hash);
    if (!c) return undefined;
    const known = this.exact.get(`${c.task}|${c.preset}|${c.backbone}`) ?? this.byTask.get(`${c.task}|${c.preset}`) ?? this.prior.get(hash);
    if (known !== undefined) return { seconds: known, rough: false };
    const all = this.all.get('');
    return all === undefined ? undefined : { seconds: all, rough: true };
  }

  /**
   * Wall seconds until `waiting` and `running` (hash -> seconds it has run) are done on `slots`
   * parallel workers; `rough` when a task has no figure yet (priced by other tasks' mean);
   * undefined while nothing has finished and there is no prior.
   */
  remaining(waiting: string[], running: Map<string, number>, slots: number): { seconds: number; rough: boolean } | undefined {
    let total = 0;
    let rough = false;
    const add = (h: string, elapsed: number | null) => {
      const e = this.estimate(h);
      if (!e) return false;
      rough ||= e.rough;
      // a cell past its estimate still needs some time: a tenth of the estimate
      total += elapsed === null ? e.seconds : Math.max(e.seconds - elapsed, e.seconds * 0.1);
      return true;
    };
    for (const h of waiting) if (!add(h, null)) return undefined;
    for (const [h, elapsed] of running) if (!add(h, elapsed)) return undefined;
    return { seconds: total / Math.max(1, slots), rough };
  }

  /** ' ETA 3m05s', ' ETA ~1m20s' when rough, '' when unknown. */
  static text(r: { seconds: number; rough: boolean } | undefined): string {
    return r ? ` ETA ${r.rough ? '~' : ''}${fmtSeconds(r.seconds)}` : '';
  }
}
