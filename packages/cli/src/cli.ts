import yargs, { type Argv, type CommandModule } from 'yargs';
import { isDplError, type CliCommand, type Registry } from '@dpl/core';
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
import { newCommand } from './commands/new';
import { webCommand } from './commands/web';
import { type CliIO, processIO } from './io';
import { choiceOption, intOption, isUsageError, usageError } from './options';

/** Exit status: 0 done, 1 the work failed (a DplError or a bug), 2 a usage error (bad, unknown or conflicting options). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

/** `--a, --b` for the options a parser knows (without help, version and the command's positionals). */
function optionList(y: Argv, command: string): string {
  const positionals = [...command.matchAll(/[<[]([^\]>.]+)(\.\.)?[\]>]/g)].map((m) => m[1]);
  const o = (y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions();
  return Object.keys(o.key)
    .filter((k) => k !== 'help' && k !== 'version' && k !== '$0' && !positionals.includes(k))
    .map((k) => `--${k}`)
    .join(', ');
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * yargs' messages in dpl's words: "Unknown arguments: bogus-flag, bogusFlag" as "unknown option
 * --bogus-flag" (or "unexpected argument 'x'"), conflicts and implications with their dashes.
 */
function usageMessage(text: string, argv: string[]): string {
  const conflict = /^Arguments (\S+) and (\S+) are mutually exclusive$/.exec(text);
  if (conflict) return `--${conflict[1]} and --${conflict[2]} cannot be given together`;
  const implied = /^(?:Missing dependent arguments|Implications failed):\s*([\s\S]*)$/.exec(text);
  if (implied)
    return implied[1]
      .split('\n')
      .map((l) => /^\s*(\S+) -> (\S+)/.exec(l))
      .filter((x): x is RegExpExecArray => x !== null)
      .map((x) => `--${x[1]} needs --${x[2]}`)
      .join('; ');
  const m = /^Unknown arguments?: (.*)$/.exec(text);
  if (!m) return text;
  const items = m[1].split(', ');
  const kept = items.filter((i) => !items.some((o) => o !== i && camel(o) === i));
  const isOption = (k: string) => argv.some((a) => a === `--${k}` || a.startsWith(`--${k}=`) || a === `-${k}` || a === `--no-${k}`);
  const opts = kept.filter(isOption).map((k) => (k.length === 1 ? `-${k}` : `--${k}`));
  const args = kept.filter((k) => !isOption(k)).map((k) => `'${k}'`);
  return [
    opts.length ? `unknown option${opts.length > 1 ? 's' : ''} ${opts.join(', ')}` : '',
    args.length ? `unexpected argument${args.length > 1 ? 's' : ''} ${args.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/**
 * Prints a failure and gives its exit status. Usage errors and DplErrors print their message and
 * fix only; anything else is a bug: its message and how to see the stack (DPL_DEBUG=1).
 */
function report(ctx: CliContext, e: unknown): number {
  const debug = process.env.DPL_DEBUG === '1';
  const err = e instanceof Error ? e : new Error(String(e));
  const usage = isUsageError(err);
  const known = usage || isDplError(err);
  const code = usage ? EXIT.usage : EXIT.failed;
  ctx.io.err(known ? `error: ${err.message}` : `internal error: ${err.message}`);
  if (debug) ctx.io.err(err.stack ?? String(err));
  else if (!known) ctx.io.err('  (rerun with DPL_DEBUG=1 to see the stack trace)');
  ctx.jsonFailure(err, code);
  return code;
}

/**
 * Runs the dpl CLI on `argv` and resolves to the exit status (EXIT). Every option is parsed and
 * checked (strictly: unknown options and commands are errors) before a command's handler runs.
 */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const globals = yargs(argv)
    .string(['plugin', 'backend'])
    .boolean('json')
    .help(false)
    .version(false)
    .exitProcess(false)
    .fail(false)
    .parseSync() as {
    backend?: string;
    plugin?: string | string[];
    json?: boolean;
  };
  const ctx = new CliContext(io, {
    backend: globals.backend,
    plugin: ([] as string[]).concat(globals.plugin ?? []).filter(Boolean),
    json: Boolean(globals.json),
  });
  // plugins may contribute commands, so they are loaded before the parser is built
  let contributed: CliCommand[] = [];
  let reg: Registry;
  try {
    reg = await ctx.registry();
    contributed = reg.commands();
  } catch (e) {
    return report(ctx, e);
  }
  // the command whose builder ran (the one being parsed): its options are listed in usage errors
  let current = null as { name: string; command: string; y: Argv } | null;
  const names: string[] = [];
  // every command, built-in or contributed, is strict: its builder cannot turn that off
  const strictly = (m: CommandModule): CommandModule => {
    const name = String(m.command).split(' ')[0];
    names.push(name);
    return {
      ...m,
      builder: (y: Argv) => {
        current = { name, command: String(m.command), y };
        const b = typeof m.builder === 'function' ? (m.builder(y) ?? y) : m.builder ? y.options(m.builder) : y;
        return (b as Argv).strict();
      },
    };
  };
  const parser = yargs(argv)
    .scriptName('dpl')
    .usage('$0 <command> [options]\n\nDeep perceptual loss workbench.')
    .option('backend', { ...choiceOption('backend', BACKENDS, 'tensor backend (env DPL_BACKEND)'), global: true })
    // one value per --plugin (an array option would swallow the command that follows it)
    .option('plugin', { type: 'string', describe: 'load a plugin package or folder (repeat --plugin for more)', global: true })
    .option('json', { type: 'boolean', describe: 'print one JSON document on stdout (progress and notes go to stderr)', global: true })
    .option('max-pixels', {
      ...intOption('max-pixels', 'largest image decoded, in pixels (default 50000000; env DPL_MAX_PIXELS)', { min: 1 }),
      global: true,
    })
    // through the environment, so the worker processes of a run read the same limit
    .middleware((a) => {
      if (typeof a['max-pixels'] === 'number') process.env.DPL_MAX_PIXELS = String(a['max-pixels']);
    });
  for (const m of [
    infoCommand(ctx),
    listCommand(ctx),
    describeCommand(ctx),
    featuresCommand(ctx),
    weightsCommand(ctx),
    runCommand(ctx),
    reportCommand(ctx),
    workerCommand(ctx),
    queueCommand(ctx),
    newCommand(ctx),
    webCommand(ctx),
  ] as CommandModule[])
    parser.command(strictly(m));
  for (const c of contributed) {
    const name = c.command.split(/\s+/)[0];
    if (names.includes(name)) {
      const by = reg.plugins.find((p) => p.registered.commands.includes(name));
      io.err(`warning: plugin '${by?.name}' (${by?.dir}): command '${name}' is not added: dpl has a built-in command of that name`);
      continue;
    }
    parser.command(
      strictly({
        command: c.command,
        describe: c.describe,
        builder: c.builder ?? ((y) => y),
        handler: (args) => c.handler(args as Record<string, unknown>, ctx),
      }),
    );
  }
  parser
    .demandCommand(1, 'name a command')
    .strict()
    .recommendCommands()
    .exitProcess(false)
    .showHelpOnFail(false)
    // throwing here stops yargs before any handler runs; everything that arrives here is a usage error
    .fail((msg, err) => {
      if (err && isDplError(err)) throw err;
      const raw = msg ?? err?.message ?? 'invalid arguments';
      // yargs wraps an error thrown by a coerce (our option builders) in its own, message kept
      const fix = raw.indexOf('\n  fix: ');
      if (fix >= 0) throw usageError(raw.slice(0, fix), raw.slice(fix + 8));
      const text = usageMessage(raw, argv);
      // the valid options where one was unknown or missing; otherwise (conflicts, choices) the help
      const list = /^(unknown option|unexpected argument|Missing required|Not enough)/.test(text);
      const where = !current
        ? `commands: ${names.join(', ')}; dpl --help explains them`
        : list
          ? `dpl ${current.name} accepts ${optionList(current.y, current.command) || 'no options'}; dpl ${current.name} --help explains them`
          : `dpl ${current.name} --help explains the options`;
      throw usageError(text, where);
    })
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100));
  let output = '';
  let failure: unknown = null;
  try {
    await parser.parseAsync(argv, {}, (_err, _argv, out) => {
      output = out;
    });
  } catch (e) {
    failure = e;
  }
  if (output && !failure) io.out(output);
  return failure ? report(ctx, failure) : EXIT.ok;
}
