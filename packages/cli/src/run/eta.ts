/**
 * Time left in a grid. Cells differ by orders of magnitude (a similarity cell takes seconds, a
 * super-resolution cell minutes), so one mean over finished cells misleads whenever the cheap
 * tasks finish first. A cell's cost is estimated from, in order: cells of the same task, preset
 * and backbone finished in this run, the same task and preset in this run, earlier runs in the
 * store (the dry-run estimate), and finally the mean of everything finished in this run.
 */
import type { ExpandedCell } from '../suite/grid';

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
    const c = this.cells.get(hash);
    if (!c) return undefined;
    return (
      this.exact.get(`${c.task}|${c.preset}|${c.backbone}`) ??
      this.byTask.get(`${c.task}|${c.preset}`) ??
      this.prior.get(hash) ??
      this.all.get('')
    );
  }

  /**
   * Wall seconds until `waiting` and `running` (hash -> seconds it has run) are done on `slots`
   * parallel workers; undefined while some cell has no estimate at all.
   */
  remaining(waiting: string[], running: Map<string, number>, slots: number): number | undefined {
    let total = 0;
    for (const h of waiting) {
      const s = this.cellSeconds(h);
      if (s === undefined) return undefined;
      total += s;
    }
    for (const [h, elapsed] of running) {
      const s = this.cellSeconds(h);
      if (s === undefined) return undefined;
      // a cell past its estimate still needs some time: a tenth of the estimate
      total += Math.max(s - elapsed, s * 0.1);
    }
    return total / Math.max(1, slots);
  }
}
