/**
 * The progress report of a grid run, fed with worker messages (plain lines: io.tty is false). Time
 * is jest's fake clock: the status line comes from the ticker, not from waiting.
 */
import { cellLabel, GridProgress, headlineText } from '../../src/run/grid-progress';
import type { CellStatus, StoredCell } from '../../src/store/results-store';
import { gridCell } from './grid-fixtures';

const CELLS = [gridCell('a', 'vgg11', 'relu1_1'), gridCell('b', 'vgg11', 'relu2_1'), gridCell('c', 'alexnet', 'relu1')];

function setup() {
  const lines: string[] = [];
  const st = new Map<string, CellStatus>(CELLS.map((c) => [c.hash, 'pending']));
  const stored = new Map<string, StoredCell>();
  const p = new GridProgress({
    io: { out: (l) => lines.push(l), err: () => undefined, cwd: '/', tty: false },
    cells: CELLS,
    todo: 3,
    workers: 1,
    statuses: () => st,
    stored: (h) => stored.get(h),
  });
  return { p, lines, st, stored };
}

beforeEach(() => jest.useFakeTimers({ now: Date.UTC(2026, 0, 1) }));
afterEach(() => jest.useRealTimers());

describe('GridProgress', () => {
  it('prints start, done with the headline and counts, FAILED with the error; an ETA once a cell is timed', () => {
    const { p, lines, st, stored } = setup();
    st.set('a', 'running');
    p.onMessage({ type: 'start', hash: 'a' });
    st.set('a', 'done');
    stored.set('a', { metrics: { score: 0.123456789 }, headline: { metric: 'score', higherIsBetter: true } } as unknown as StoredCell);
    p.onMessage({ type: 'end', hash: 'a', status: 'done', seconds: 10 });
    st.set('b', 'failed');
    p.onMessage({ type: 'end', hash: 'b', status: 'failed', error: 'boom', seconds: 1 });
    expect(lines).toEqual([
      'start  toy vgg11@relu1_1 seed 0 [a]',
      'done   toy vgg11@relu1_1 seed 0: score=0.12346 (10.0 s) | 1/3 done, 0 running, 0 failed, 2 pending ETA 20s',
      'FAILED toy vgg11@relu2_1 seed 0: boom | 1/3 done, 0 running, 1 failed, 1 pending ETA 10s',
    ]);
    expect(p.ranNow).toBe(1);
  });

  it('a released cell is reported as stopped and not counted', () => {
    const { p, lines } = setup();
    p.onMessage({ type: 'start', hash: 'c' });
    p.onMessage({ type: 'end', hash: 'c', status: 'released', seconds: 3 });
    expect(lines[1]).toBe('stopped toy alexnet@relu1 seed 0 (back to pending)');
    expect(p.ranNow).toBe(0);
  });

  it('shows each kind of task notice once (paths and numbers do not make a new kind)', () => {
    const { p, lines } = setup();
    p.onMessage({ type: 'log', hash: 'a', message: 'synthetic data written to /tmp/x1' });
    p.onMessage({ type: 'log', hash: 'b', message: 'synthetic data written to /tmp/y2' });
    p.onMessage({ type: 'log', hash: 'a', message: 'step 40 validation 0.08' });
    p.onMessage({ type: 'log', hash: 'a', message: 'step 80 validation 0.07' });
    expect(lines).toEqual([
      'note   toy vgg11@relu1_1 seed 0: synthetic data written to /tmp/x1',
      'note   toy vgg11@relu1_1 seed 0: step 40 validation 0.08',
    ]);
  });

  it('ignores messages for cells outside the grid and messages without a cell', () => {
    const { p, lines } = setup();
    p.onMessage({ type: 'start', hash: 'zz' });
    p.onMessage({ type: 'idle' });
    p.onMessage({ type: 'ready', backend: 'cpu' });
    expect(lines).toEqual([]);
  });

  it('every 15 s while a cell runs: a status line with each running cell and its step', () => {
    const { p, lines, st } = setup();
    p.start();
    jest.advanceTimersByTime(15000);
    expect(lines).toEqual([]); // nothing running: no line
    st.set('a', 'running');
    p.onMessage({ type: 'start', hash: 'a' });
    p.onMessage({ type: 'progress', hash: 'a', label: 'train', done: 3, total: 10 });
    jest.advanceTimersByTime(15000);
    p.stop();
    jest.advanceTimersByTime(60000); // stopped: no more lines
    expect(lines).toEqual([
      'start  toy vgg11@relu1_1 seed 0 [a]',
      '...    0/3 done, 1 running, 0 failed, 2 pending | toy vgg11@relu1_1 seed 0 train 3/10',
    ]);
  });

  it('names cells and headlines', () => {
    expect(cellLabel({ task: 't', backbone: 'vgg16', points: ['relu1_2', 'relu2_2'], seed: 3 })).toBe('t vgg16@relu1_2+relu2_2 seed 3');
    expect(headlineText(undefined)).toBe('');
    expect(headlineText({ metrics: null, headline: null } as unknown as StoredCell)).toBe('');
  });
});
