import { DplError } from '@dpl/core';
import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { table } from '../io';
import { queueClean, type QueueStatus, queueStatus } from '../queue/operator';
import { fmtSeconds } from '../run/format';

const secs = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${Math.round(s / 60)}m` : `${Math.round(s)}s`);

/** `dpl queue status` as text: one block per section, only the sections that have something. */
export function statusText(s: QueueStatus): string {
  const c = s.counts;
  const out: string[] = [
    `queue ${s.queue}: ${c.waiting + c.prioritized} waiting, ${c.active} running, ${c.delayed} waiting to retry, ` +
      `${s.finished.length} done and ${c.failed} failed not yet collected by a coordinator`,
  ];
  for (const g of s.grids) {
    const eta = g.etaSeconds !== undefined && !g.stoppedAt ? `, ETA ${g.etaRough ? '~' : ''}${fmtSeconds(g.etaSeconds)}` : '';
    const age = secs((s.at - (g.stoppedAt ?? g.updatedAt)) / 1000);
    out.push(
      `grid ${g.suite}: ${g.done}/${g.total} done, ${g.running} running, ${g.failed} failed, ${g.queued} queued${eta} ` +
        `(${g.stoppedAt ? `coordinator ${g.coordinator} stopped following ${age} ago` : `coordinator ${g.coordinator}, updated ${age} ago`}; store ${g.store})`,
    );
  }
  out.push(
    s.workers.length
      ? `\n${s.workers.length} worker${s.workers.length === 1 ? '' : 's'} on this queue:\n${table(
          s.workers.map((w) => [
            w.name,
            `${secs(w.lastBeatSeconds)} ago`,
            secs(w.uptimeSeconds),
            w.done,
            w.failed,
            w.current.join(', ') || 'idle',
          ]),
          ['worker', 'heartbeat', 'up', 'done', 'failed', 'running now'],
        )}`
      : `\nno worker on this queue (start one: dpl worker --queue ${s.queue})`,
  );
  if (s.running.length)
    out.push(
      `\nrunning:\n${table(
        s.running.map((r) => [
          r.hash,
          r.cell,
          `${r.worker ?? '?'}${r.workerAlive ? '' : ' (no heartbeat: gone? the cell returns to the queue)'}`,
          r.attempt,
          secs(r.elapsedSeconds),
          r.progress ? `${r.progress.label} ${r.progress.total ? `${r.progress.done}/${r.progress.total}` : ''}`.trim() : '',
        ]),
        ['hash', 'cell', 'worker', 'attempt', 'elapsed', 'progress'],
      )}`,
    );
  if (s.retrying.length)
    out.push(
      `\nretrying:\n${table(
        s.retrying.map((r) => [
          r.hash,
          r.cell,
          `${r.attempt} of ${r.attempts} failed`,
          r.nextTryAt ? `in ${secs(Math.max(0, (Date.parse(r.nextTryAt) - s.at) / 1000))}` : '?',
          r.lastError,
        ]),
        ['hash', 'cell', 'attempts', 'next try', 'last error'],
      )}`,
    );
  if (s.finished.length)
    out.push(
      `\nfinished, waiting for a coordinator to collect them:\n${table(
        s.finished.map((f) => [f.hash, f.cell, f.worker, f.finishedAt]),
        ['hash', 'cell', 'worker', 'finished'],
      )}`,
    );
  if (s.failed.length)
    out.push(
      `\nfailed (not yet collected):\n${table(
        s.failed.map((f) => [f.hash, f.cell, f.attempts, f.error]),
        ['hash', 'cell', 'attempts', 'error'],
      )}`,
    );
  return out.join('\n');
}

export const queueCommand = (ctx: CliContext): CommandModule => ({
  command: 'queue <action>',
  describe: 'look after the Redis queue of `dpl run --queue`: status (grids, workers, cells) or clean (remove finished jobs)',
  builder: (y: Argv) =>
    y
      .positional('action', { type: 'string', choices: ['status', 'clean'], describe: 'status | clean' })
      .option('queue', { type: 'string', demandOption: true, describe: 'redis://HOST:PORT[/DB]' })
      .option('all', {
        type: 'boolean',
        default: false,
        describe: 'clean: remove every job, waiting and running ones too (refused while cells run, unless --force)',
      })
      .option('force', { type: 'boolean', default: false, describe: 'clean --all while cells run: the workers drop them' })
      .option('watch', { type: 'boolean', default: false, describe: 'status: refresh every 2 s on a terminal (Ctrl-C ends it)' }),
  handler: async (a) => {
    const url = a.queue as string;
    if (a.action === 'clean') {
      const r = await queueClean(url, Boolean(a.all), Boolean(a.force));
      if (ctx.args.json) return ctx.json(r);
      ctx.io.out(
        `removed ${r.removed} job${r.removed === 1 ? '' : 's'} and ${r.results} published result${r.results === 1 ? '' : 's'} from ${r.queue}` +
          (r.removed || r.results
            ? a.all
              ? ' (everything: a coordinator run again queues its unfinished cells anew)'
              : ' (finished results not collected by a coordinator are gone: those cells run again)'
            : ''),
      );
      return;
    }
    if (a.action !== 'status')
      throw new DplError('E_ARGS', `dpl queue ${String(a.action)}: unknown action`, 'use dpl queue status or dpl queue clean');
    if (ctx.args.json) return ctx.json(await queueStatus(url));
    if (a.watch && ctx.io.tty) {
      for (;;) {
        const text = statusText(await queueStatus(url));
        ctx.io.out(`\x1b[H\x1b[2J${text}\n\n(refreshing every 2 s; Ctrl-C ends)`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    if (a.watch) ctx.io.err('note: --watch refreshes only on a terminal; printed once');
    ctx.io.out(statusText(await queueStatus(url)));
  },
});
