import yargs from 'yargs';
import { isDplError, type CliCommand } from '@dpl/core';
import { CliContext } from './context';
import { describeCommand } from './commands/describe';
import { featuresCommand } from './commands/features';
import { infoCommand } from './commands/info';
import { listCommand } from './commands/list';
import { weightsCommand } from './commands/weights';
import { runCommand } from './commands/run';
import { reportCommand } from './commands/report';
import { workerCommand } from './commands/worker';
import { queueCommand } from './commands/queue';
import { type CliIO, processIO } from './io';

/**
 * Runs the dpl CLI on `argv` and resolves to the exit code. User errors (DplError, bad
 * arguments) print one clear message without a stack trace and give exit code 1.
 */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const globals = yargs(argv).help(false).version(false).exitProcess(false).fail(false).parseSync() as {
    backend?: string;
    plugin?: string | string[];
    json?: boolean;
  };
  const ctx = new CliContext(io, {
    backend: globals.backend,
    plugin: globals.plugin === undefined ? [] : ([] as string[]).concat(globals.plugin),
    json: Boolean(globals.json),
  });
  let failure: unknown = null;
  // plugins may contribute commands, so they are loaded before the parser is built
  let contributed: CliCommand[] = [];
  try {
    contributed = (await ctx.registry()).commands();
  } catch (e) {
    if (!isDplError(e)) throw e;
    io.err(`error: ${e.message}`);
    return 1;
  }
  const parser = yargs(argv)
    .scriptName('dpl')
    .usage('$0 <command> [options]\n\nDeep perceptual loss workbench.')
    .option('backend', { type: 'string', describe: 'tensor backend: auto | tensorflow | wasm | cpu (env DPL_BACKEND)', global: true })
    .option('plugin', { type: 'string', array: true, describe: 'load a plugin package or folder (repeatable)', global: true })
    .option('json', { type: 'boolean', describe: 'machine-readable output', global: true })
    .command(infoCommand(ctx))
    .command(listCommand(ctx))
    .command(describeCommand(ctx))
    .command(featuresCommand(ctx))
    .command(weightsCommand(ctx))
    .command(runCommand(ctx))
    .command(reportCommand(ctx))
    .command(workerCommand(ctx))
    .command(queueCommand(ctx));
  for (const c of contributed) {
    parser.command({
      command: c.command,
      describe: c.describe,
      builder: c.builder ?? ((y) => y),
      handler: (args) => c.handler(args as Record<string, unknown>, ctx),
    });
  }
  parser
    .demandCommand(1, 'name a command; dpl --help lists them')
    .strict()
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((msg, err) => {
      failure = err ?? Object.assign(new Error(msg), { name: 'YError' });
    })
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100));
  let output = '';
  try {
    await parser.parseAsync(argv, {}, (_err, _argv, out) => {
      output = out;
    });
  } catch (e) {
    failure = e;
  }
  if (output) io.out(output);
  if (failure) {
    const e = failure as Error;
    // argument mistakes (yargs) and DplErrors are the user's to fix: message only, exit 1
    if (isDplError(e) || e.name === 'YError') {
      io.err(`error: ${e.message}`);
      return 1;
    }
    io.err(`internal error: ${e?.stack ?? String(e)}`);
    return 2;
  }
  return 0;
}
