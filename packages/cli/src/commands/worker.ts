import * as os from 'node:os';
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { parseDataMap } from '../queue/data-map';
import { runQueueWorker } from '../queue/worker';

export const workerCommand = (ctx: CliContext): CommandModule => ({
  command: 'worker',
  describe: 'run grid cells that `dpl run <suite> --queue` put in a Redis queue (on any machine with the same dpl)',
  builder: (y: Argv) =>
    y
      .option('queue', { type: 'string', demandOption: true, describe: 'the Redis the coordinator uses: redis://HOST:PORT[/DB]' })
      .option('concurrency', { type: 'number', describe: 'cells at once, each in its own process (default: the number of cores)' })
      .option('data-map', {
        type: 'string',
        array: true,
        describe: 'FROM=TO: read a data root the suite resolved to FROM under TO on this machine (repeatable)',
      })
      .option('scratch', { type: 'string', describe: "keep each cell's working directory under this folder" }),
  handler: async (a) => {
    const summary = await runQueueWorker({
      url: a.queue as string,
      concurrency: (a.concurrency as number | undefined) ?? os.availableParallelism(),
      dataMap: parseDataMap(a['data-map'] as string[] | undefined, ctx.io.cwd),
      cwd: ctx.io.cwd,
      plugins: ctx.args.plugin ?? [],
      backend: ctx.args.backend,
      scratch: a.scratch ? path.resolve(ctx.io.cwd, a.scratch as string) : undefined,
      io: ctx.io,
    });
    if (ctx.args.json) ctx.json(summary);
  },
});
