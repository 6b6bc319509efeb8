import { DplError } from '@dpl/core';
import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { table } from '../io';
import { queueClean, queueStatus } from '../queue/operator';

const secs = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${Math.round(s / 60)}m` : `${s}s`);

export const queueCommand = (ctx: CliContext): CommandModule => ({
  command: 'queue <action>',
  describe: 'look after the Redis queue of `dpl run --queue`: status (jobs, workers) or clean (remove finished jobs)',
  builder: (y: Argv) =>
    y
      .positional('action', { type: 'string', choices: ['status', 'clean'], describe: 'status | clean' })
      .option('queue', { type: 'string', demandOption: true, describe: 'redis://HOST:PORT[/DB]' })
      .option('all', {
        type: 'boolean',
        default: false,
        describe: 'clean: remove every job, waiting and running ones too (stop coordinator and workers first)',
      }),
  handler: async (a) => {
    const url = a.queue as string;
    if (a.action === 'clean') {
      const r = await queueClean(url, Boolean(a.all));
      if (ctx.args.json) return ctx.json(r);
      ctx.io.out(
        `removed ${r.removed} job${r.removed === 1 ? '' : 's'} from ${r.queue}` +
          (r.removed
            ? a.all
              ? ' (every job: a coordinator run again queues its unfinished cells anew)'
              : ' (finished results not collected by a coordinator are gone: those cells run again)'
            : ''),
      );
      return;
    }
    if (a.action !== 'status')
      throw new DplError('E_ARGS', `dpl queue ${a.action}: unknown action`, 'use dpl queue status or dpl queue clean');
    const s = await queueStatus(url);
    if (ctx.args.json) return ctx.json(s);
    const c = s.counts;
    ctx.io.out(
      `queue ${s.queue}: ${c.waiting + c.prioritized} waiting, ${c.active} running, ${c.delayed} waiting to retry, ` +
        `${c.completed} done and ${c.failed} failed not yet collected by a coordinator`,
    );
    ctx.io.out(
      s.workers.length
        ? `\n${s.workers.length} worker${s.workers.length === 1 ? '' : 's'} connected:\n${table(
            s.workers.map((w) => [w.name, w.addr, secs(w.age), secs(w.idle)]),
            ['worker', 'address', 'connected', 'idle'],
          )}`
        : '\nno worker connected (start one: dpl worker --queue ' + s.queue + ')',
    );
    if (s.running.length)
      ctx.io.out(
        `\nrunning:\n${table(
          s.running.map((r) => [
            r.hash,
            r.cell,
            r.worker ?? '?',
            r.attempt,
            r.progress ? `${r.progress.label} ${r.progress.total ? `${r.progress.done}/${r.progress.total}` : ''}`.trim() : '',
          ]),
          ['hash', 'cell', 'worker', 'attempt', 'progress'],
        )}`,
      );
    if (s.failed.length)
      ctx.io.out(
        `\nfailed (not yet collected):\n${table(
          s.failed.map((f) => [f.hash, f.cell, f.error]),
          ['hash', 'cell', 'error'],
        )}`,
      );
  },
});
