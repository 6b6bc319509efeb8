import { SingleBar, Presets } from 'cli-progress';
import type { ProgressReporter } from '@dpl/core';
import type { CliIO } from './io';

/**
 * A progress reporter: a bar with ETA on a TTY (cli-progress), plain lines every `every`
 * seconds otherwise (logs, CI).
 */
export function makeProgress(io: CliIO, every = 5): ProgressReporter {
  let bar: SingleBar | null = null;
  let label = '';
  let total = 0;
  let done = 0;
  let last = 0;
  let started = 0;
  return {
    start(l, t) {
      label = l;
      total = t ?? 0;
      done = 0;
      started = last = Date.now();
      if (io.tty && total) {
        bar = new SingleBar(
          { format: `${l} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} {info}`, hideCursor: true },
          Presets.shades_classic,
        );
        bar.start(total, 0, { info: '' });
      } else io.out(`${label}: started${total ? ` (${total})` : ''}`);
    },
    tick(n = 1, info) {
      done += n;
      const text = info
        ? Object.entries(info)
            .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`)
            .join(' ')
        : '';
      if (bar) bar.update(done, { info: text });
      else if (Date.now() - last >= every * 1000) {
        last = Date.now();
        const rate = done / ((last - started) / 1000);
        const eta = total && rate > 0 ? ` ETA ${Math.round((total - done) / rate)}s` : '';
        io.out(`${label}: ${done}${total ? `/${total}` : ''}${eta} ${text}`.trimEnd());
      }
    },
    log(message) {
      if (bar) bar.stop();
      io.out(message);
      if (bar) bar.start(total, done);
    },
    done() {
      bar?.stop();
      bar = null;
      if (!io.tty || !total) io.out(`${label}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    },
  };
}
