import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { CliIO } from '../io';
import { countStatuses, type CellStatus, type StoredCell } from '../store/results-store';
import type { ExpandedCell } from '../suite/grid';
import { EtaEstimator } from './eta';
import type { WorkerMessage } from './worker-loop';

/** `task backbone@points seed N`: how a cell is named in progress lines. */
export const cellLabel = (c: { task: string; backbone: string; points: string[]; seed: number }) =>
  `${c.task} ${c.backbone}@${c.points.join('+')} seed ${c.seed}`;

/** `metric=value` of a finished cell, or '' when it has none. */
export const headlineText = (c: StoredCell | undefined) => {
  if (!c?.metrics || !c.headline) return '';
  const v = c.metrics[c.headline.metric];
  return `${c.headline.metric}=${typeof v === 'number' ? +v.toPrecision(5) : v}`;
};

export interface GridProgressOptions {
  io: CliIO;
  cells: ExpandedCell[];
  /** Cells this run will take (the overall bar's length). */
  todo: number;
  workers: number;
  /** Seconds per cell from earlier runs in the store, for the ETA until this run has its own. */
  prior?: Map<string, number | undefined>;
  /** The grid's statuses in the store now (read once per line). */
  statuses: () => Map<string, CellStatus>;
  /** A cell as stored, for the headline of a finished one. */
  stored: (hash: string) => StoredCell | undefined;
}

/**
 * The progress report of a grid run, fed with the workers' messages: a bar per running cell and an
 * overall bar on a TTY, plain lines otherwise (start, done, FAILED, stopped, notes shown once per
 * kind, and a status line every 15 s while cells run). It only reads the store.
 */
export class GridProgress {
  private readonly byHash: Map<string, ExpandedCell>;
  private readonly running = new Map<string, { label: string; done: number; total: number }>();
  private readonly startedAt = new Map<string, number>();
  private readonly seenLogs = new Set<string>();
  private readonly eta: EtaEstimator;
  private readonly multi: MultiBar | null;
  private readonly overall: SingleBar | null;
  private readonly cellBars = new Map<string, SingleBar>();
  private ticker: NodeJS.Timeout | undefined;
  private finishedNow = 0;
  /** Cells this run finished as done. */
  ranNow = 0;

  constructor(private readonly o: GridProgressOptions) {
    this.byHash = new Map(o.cells.map((c) => [c.hash, c]));
    this.eta = new EtaEstimator(o.cells, o.prior);
    this.multi = o.io.tty
      ? new MultiBar({ format: '{name} [{bar}] {percentage}% {info}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
      : null;
    this.overall = this.multi?.create(o.todo, 0, { name: 'cells', info: '' }) ?? null;
  }

  /** A line above the bars on a TTY, a plain line otherwise. */
  print = (line: string): void => {
    if (this.multi) this.multi.log(line + '\n');
    else this.o.io.out(line);
  };

  /** Counts and the ETA, from one read of the statuses (a TTY redraws every second). */
  status(): string {
    const st = this.o.statuses();
    const c = countStatuses(st.values());
    const now = Date.now();
    const started = new Map([...this.startedAt].map(([h, t]) => [h, (now - t) / 1000]));
    const waiting = [...st].filter(([h, v]) => (v === 'pending' || v === 'running') && !started.has(h)).map(([h]) => h);
    const eta = EtaEstimator.text(this.eta.remaining(waiting, started, Math.max(1, this.o.workers)));
    return `${c.done}/${this.byHash.size} done, ${c.running} running, ${c.failed} failed, ${c.pending} pending${eta}`;
  }

  onMessage = (m: WorkerMessage): void => {
    const cell = 'hash' in m ? this.byHash.get(m.hash) : undefined;
    if (!cell || !('hash' in m)) return;
    if (m.type === 'start') {
      this.running.set(m.hash, { label: '', done: 0, total: 0 });
      this.startedAt.set(m.hash, Date.now());
      if (this.multi) this.cellBars.set(m.hash, this.multi.create(1, 0, { name: cellLabel(cell), info: '' }));
      else this.print(`start  ${cellLabel(cell)} [${m.hash}]`);
    } else if (m.type === 'progress') {
      this.running.set(m.hash, { label: m.label, done: m.done, total: m.total });
      const bar = this.cellBars.get(m.hash);
      if (bar) {
        bar.setTotal(Math.max(1, m.total));
        bar.update(m.done, { info: m.label });
      }
    } else if (m.type === 'log') {
      // tasks repeat their notices in every cell and step ("synthetic data written to <tmp>",
      // "step 40 validation 0.08"): show each kind once; the store keeps the results
      const key = m.message.replace(/\/\S+/g, '<path>').replace(/\d+(\.\d+)?(e-?\d+)?/g, '#');
      if (!this.seenLogs.has(key)) {
        this.seenLogs.add(key);
        this.print(`note   ${cellLabel(cell)}: ${m.message}`);
      }
    } else if (m.type === 'end') {
      this.running.delete(m.hash);
      this.startedAt.delete(m.hash);
      const bar = this.cellBars.get(m.hash);
      if (bar) this.multi?.remove(bar);
      this.cellBars.delete(m.hash);
      if (m.status === 'released') {
        this.print(`stopped ${cellLabel(cell)} (back to pending)`);
        return;
      }
      this.finishedNow++;
      if (m.status === 'done') {
        this.ranNow++;
        this.eta.record(m.hash, m.seconds);
      }
      this.overall?.update(this.finishedNow, { info: this.status() });
      this.print(
        m.status === 'done'
          ? `done   ${cellLabel(cell)}: ${headlineText(this.o.stored(m.hash))} (${m.seconds.toFixed(1)} s) | ${this.status()}`
          : `FAILED ${cellLabel(cell)}: ${m.error} | ${this.status()}`,
      );
    }
  };

  /** Redraws the overall bar every second on a TTY; a status line every 15 s otherwise, while cells run. */
  start(): void {
    this.ticker = setInterval(() => this.tick(), this.o.io.tty ? 1000 : 15000);
  }

  tick(): void {
    if (this.multi) this.overall?.update(this.finishedNow, { info: this.status() });
    else if (this.running.size)
      this.print(
        `...    ${this.status()} | ${[...this.running.entries()]
          .map(([h, r]) => `${cellLabel(this.byHash.get(h)!)} ${r.label} ${r.total ? `${r.done}/${r.total}` : ''}`.trim())
          .join('; ')}`,
      );
  }

  stop(): void {
    clearInterval(this.ticker);
    this.multi?.stop();
  }
}
