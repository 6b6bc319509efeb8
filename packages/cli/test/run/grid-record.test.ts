/** What the store records for a grid run: the summary from its counts, and cells whose worker died. */
import { gridSummary, recordLostCell, startFailureLine, summaryLine } from '../../src/run/grid-record';
import { freshStore, gridCell, OUTCOME } from './grid-fixtures';

describe('grid record', () => {
  it('sums up from the store: running cells count as left', () => {
    const { store } = freshStore();
    store.addCells([gridCell('a'), gridCell('b'), gridCell('c'), gridCell('d')]);
    store.claim(['a'], 'h:1');
    store.finish('a', 'h:1', OUTCOME);
    store.claim(['b'], 'h:1');
    store.fail('b', 'h:1', 'boom');
    store.claim(['c'], 'h:1');
    const s = gridSummary(store, ['a', 'b', 'c', 'd'], { interrupted: true, ranNow: 1, seconds: 185 });
    expect(s).toEqual({ total: 4, done: 1, failed: 1, pending: 2, ranNow: 1, interrupted: true, seconds: 185 });
    expect(summaryLine(s)).toBe('stopped: 1/4 cells done (1 in this run), 1 failed, 2 left; 3m05s');
    expect(summaryLine({ ...s, interrupted: false })).toMatch(/^finished: /);
    store.close();
  });

  it('a worker that died mid-cell: the cell is failed with the exit and the end of its stderr', () => {
    const { store } = freshStore();
    store.addCells([gridCell('a')]);
    store.claim(['a'], 'h:7');
    const m = recordLostCell(store, {
      hash: 'a',
      owner: 'h:7',
      stopping: false,
      code: null,
      signal: 'SIGKILL',
      stderr: 'x\ny\nz\nout of memory\n',
    });
    expect(m).toEqual({ type: 'end', hash: 'a', status: 'failed', error: 'worker process exited (SIGKILL)', seconds: 0 });
    const c = store.get('a')!;
    expect(c.status).toBe('failed');
    expect(c.error).toBe('the worker process exited (SIGKILL) while running this cell: y | z | out of memory');
    store.close();
  });

  it('a worker killed by the user (second Ctrl-C): the cell goes back to pending', () => {
    const { store } = freshStore();
    store.addCells([gridCell('a')]);
    store.claim(['a'], 'h:7');
    const m = recordLostCell(store, { hash: 'a', owner: 'h:7', stopping: true, code: null, signal: 'SIGKILL', stderr: '' });
    expect(m).toEqual({ type: 'end', hash: 'a', status: 'released', seconds: 0 });
    expect(store.get('a')!.status).toBe('pending');
    store.close();
  });

  it('names the exit code of a worker that could not start', () => {
    expect(startFailureLine(3, 'dpl worker: Error: no plugin\n')).toBe(
      'a worker process failed to start (code 3): dpl worker: Error: no plugin',
    );
  });
});
