/** The page's worker: every comparison runs here, so the page stays responsive while networks run. */
import type { WorkerReply, WorkerRequest } from '../protocol';
import { compare } from './compare';
import { useBackend } from './backend';
import { backbones } from './families';

const scope = self as unknown as {
  postMessage(m: WorkerReply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
};

function fail(id: number, e: unknown): void {
  const err = e as { code?: string; message?: string; hint?: string };
  const known = typeof err.code === 'string' && err.code.startsWith('E_');
  if (
    !known &&
    /out of memory|\bOOM\b|Aborted\(|allocation failed|Array buffer allocation|RangeError: .*(length|size)/i.test(String(err.message ?? e))
  ) {
    scope.postMessage({
      id,
      type: 'error',
      code: 'E_MEMORY',
      message: `the browser ran out of memory for this comparison (${String(err.message ?? e).split('\n')[0]})`,
      hint: 'use smaller images or a smaller network (LPIPS alex or squeeze), or compare them with `dpl similarity` on the command line',
    });
    return;
  }
  // a DplError's message carries its fix on a second line; the page shows them apart
  const message = (err.message ?? String(e)).split('\n  fix: ')[0];
  scope.postMessage({
    id,
    type: 'error',
    code: known ? err.code! : 'E_INTERNAL',
    message: known ? message : `internal error: ${message}`,
    hint: known ? (err.hint ?? null) : 'reload the page; if it happens again, report it with the browser console output',
  });
}

scope.onmessage = (e) => {
  const req = e.data;
  if (req.type === 'catalog') {
    useBackend(req.backend)
      .then((backend) => {
        const list = [...backbones().values()].map((b) => ({
          id: b.id,
          family: b.family,
          points: b.points().map((p) => ({ name: p.name, paper: p.paper, channels: p.channels })),
        }));
        scope.postMessage({ id: req.id, type: 'catalog', backbones: list, backend });
      })
      .catch((err: unknown) => fail(req.id, err));
    return;
  }
  compare(req, (text) => scope.postMessage({ id: req.id, type: 'progress', text })).then(
    (result) => scope.postMessage({ id: req.id, type: 'done', result }, result.single ? [result.single.map.data.buffer] : []),
    (err: unknown) => fail(req.id, err),
  );
};
