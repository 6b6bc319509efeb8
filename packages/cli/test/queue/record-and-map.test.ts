import * as path from 'node:path';
import { parseDataMap, dataMapper } from '../../src/queue/data-map';
import { versionMismatch } from '../../src/queue/cell-job';
import { parseRedisUrl } from '../../src/queue/connection';
import { type CellOutcome, ResultsStore } from '../../src/store/results-store';
import { tmpDir } from '../helpers';

const outcome = (v: number): CellOutcome => ({
  metrics: { score: v },
  headline: { metric: 'score', higherIsBetter: true },
  provenance: { kind: 'random', seed: 0 },
  backend: 'wasm',
  dplVersion: '0.1.0',
  seconds: 1.5,
});

describe('ResultsStore.record (results that arrive through the queue)', () => {
  const spec = (hash: string) => ({
    hash,
    suite: 's',
    task: 't',
    backbone: 'b',
    points: ['p'],
    preset: 'quick',
    seed: 0,
    config: { x: hash },
  });

  it('records done and failed results, never overwrites a done cell, and adds up attempts', () => {
    const store = new ResultsStore(path.join(tmpDir('dpl-record-'), 'r.sqlite'));
    try {
      store.addCells([spec('a'), spec('b')]);
      expect(
        store.record('a', 'queue:w1', outcome(0.5), {
          attempts: 1,
          startedAt: '2025-01-01T00:00:00.000Z',
          finishedAt: '2025-01-01T00:00:02.000Z',
        }),
      ).toBe(true);
      const a = store.get('a')!;
      expect(a).toMatchObject({
        status: 'done',
        owner: 'queue:w1',
        attempts: 1,
        metrics: { score: 0.5 },
        backend: 'wasm',
        seconds: 1.5,
        error: null,
      });
      expect(a.finishedAt).toBe('2025-01-01T00:00:02.000Z');
      // the same result collected again, or a late one: the finished cell is kept as it was
      expect(store.record('a', 'queue:w2', outcome(0.9), { attempts: 1 })).toBe(false);
      expect(store.get('a')!.metrics).toEqual({ score: 0.5 });
      // failed (after 3 attempts), then run again and done: attempts add up, the error is cleared
      expect(store.record('b', 'queue:w1', { error: 'boom', seconds: 0.2 }, { attempts: 3 })).toBe(true);
      expect(store.get('b')).toMatchObject({ status: 'failed', error: 'boom', attempts: 3, metrics: null, seconds: 0.2 });
      expect(store.record('b', 'queue:w2', outcome(0.1), { attempts: 1 })).toBe(true);
      expect(store.get('b')).toMatchObject({ status: 'done', error: null, attempts: 4, owner: 'queue:w2' });
      expect(store.counts()).toEqual({ pending: 0, running: 0, done: 2, failed: 0 });
    } finally {
      store.close();
    }
  });
});

describe('--data-map, --queue URLs and the version check', () => {
  it('maps data roots by the longest matching folder and leaves others alone', () => {
    const map = dataMapper(parseDataMap(['/data=/mnt/d', '/data/bsds=/fast/bsds', '/x/=rel'], '/home/me'));
    expect(map('/data/bsds')).toBe('/fast/bsds');
    expect(map('/data/bsds/test/1.png')).toBe('/fast/bsds/test/1.png');
    expect(map('/data/other')).toBe('/mnt/d/other');
    expect(map('/database')).toBe('/database'); // a prefix of the name, not a parent folder
    expect(map('/x/y')).toBe('/home/me/rel/y');
    expect(() => parseDataMap(['data=/mnt'], '/')).toThrow(/--data-map data=\/mnt: FROM must be an absolute path/);
    expect(() => parseDataMap(['/data'], '/')).toThrow(/--data-map \/data: is not FROM=TO/);
  });

  it('parses redis URLs and names what is wrong with a bad one', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toMatchObject({
      host: '127.0.0.1',
      port: 6380,
      db: 2,
      display: 'redis://127.0.0.1:6380/2',
    });
    const withAuth = parseRedisUrl('redis://user:s%40cret@redis.lan');
    expect(withAuth).toMatchObject({ host: 'redis.lan', port: 6379, db: 0, username: 'user', password: 's@cret' });
    expect(withAuth.display).not.toMatch(/cret/); // no password in messages
    expect(() => parseRedisUrl('http://h:1')).toThrow(/--queue http:\/\/h:1: the scheme must be redis:\/\//);
    expect(() => parseRedisUrl('rediss://h')).toThrow(/TLS/);
    expect(() => parseRedisUrl('redis://h/x')).toThrow(/database 'x'/);
    expect(() => parseRedisUrl('not a url')).toThrow(/is not a URL/);
  });

  it('a worker refuses a job of another dpl version, naming both', () => {
    expect(versionMismatch('0.1.0', '0.1.0')).toBeNull();
    expect(versionMismatch('0.1.0', '0.2.0')).toMatch(/queued by dpl 0\.1\.0 but this worker runs dpl 0\.2\.0/);
  });
});
