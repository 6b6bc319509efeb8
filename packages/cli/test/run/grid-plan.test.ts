/** Planning a grid run: the store gets the cells (keeping their status) and the plan counts what this run takes. */
import { planGrid, planLine } from '../../src/run/grid-plan';
import { freshStore, gridCell, OUTCOME } from './grid-fixtures';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

describe('planGrid', () => {
  it('adds new cells as pending; every one is to run', () => {
    const { store } = freshStore();
    const plan = planGrid(store, [gridCell('a'), gridCell('b')], false, T0);
    expect(plan.hashes).toEqual(['a', 'b']);
    expect(plan.todo).toBe(2);
    expect(plan.retryFailedBefore).toBeUndefined();
    expect(store.counts()).toEqual({ pending: 2, running: 0, done: 0, failed: 0 });
    expect(planLine(plan, 'r.sqlite', 2)).toBe('2 cells: 0 finished before, 2 to run on 2 processes; store r.sqlite');
    expect(planLine(plan, 'r.sqlite', 1)).toMatch(/to run on 1 process; /);
    expect(planLine(plan, 'r.sqlite', 0)).toMatch(/to run on this process; /);
    store.close();
  });

  it('keeps finished and failed cells; failed ones run again only with retryFailed, from the run start', () => {
    const { store } = freshStore();
    const cells = [gridCell('a'), gridCell('b'), gridCell('c')];
    store.addCells(cells);
    store.claim(['a'], 'h:1');
    store.finish('a', 'h:1', OUTCOME);
    store.claim(['b'], 'h:1');
    store.fail('b', 'h:1', 'boom');
    const plain = planGrid(store, cells, false, T0);
    expect(plain.before).toEqual({ pending: 1, running: 0, done: 1, failed: 1 });
    expect(plain.todo).toBe(1);
    const retry = planGrid(store, cells, true, T0);
    expect(retry.todo).toBe(2);
    expect(retry.retryFailedBefore).toBe(new Date(T0).toISOString());
    expect(store.get('a')!.status).toBe('done'); // adding again changes nothing
    store.close();
  });

  it('a cell left running by a dead owner counts as to run', () => {
    const { store } = freshStore();
    const cells = [gridCell('a')];
    store.addCells(cells);
    store.claim(['a'], 'elsewhere:1');
    expect(planGrid(store, cells, false, T0).todo).toBe(1);
    store.close();
  });

  it('says when nothing is left, and how many failed', () => {
    const { store } = freshStore();
    const cells = [gridCell('a'), gridCell('b')];
    store.addCells(cells);
    store.claim(['a'], 'h:1');
    store.finish('a', 'h:1', OUTCOME);
    store.claim(['b'], 'h:1');
    store.fail('b', 'h:1', 'boom');
    const plan = planGrid(store, cells, false, T0);
    expect(plan.todo).toBe(0);
    expect(planLine(plan, 'r.sqlite', 2)).toBe('all 2 cells are finished in r.sqlite (1 failed; --retry-failed runs them again)');
    store.close();
  });
});
