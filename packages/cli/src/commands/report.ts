import * as fs from 'node:fs';
import * as path from 'node:path';
import { DplError } from '@dpl/core';
import type { Argv, CommandModule } from 'yargs';
import { type CliContext, DPL_VERSION } from '../context';
import { analyse } from '../report/analyse';
import { registryLookup } from '../report/lookup';
import { FORMATS, parseFormats, writeReport, type ReportFormat } from '../report/write';
import { checkOutDir, intOption, pathError, seedOption, textOption } from '../options';
import { ResultsStore, type StoredCell } from '../store/results-store';

export const reportCommand = (ctx: CliContext): CommandModule => ({
  command: 'report',
  describe: 'tables, rankings, correlations and charts from a results store (md, html, csv, json, tex)',
  builder: (y: Argv) =>
    y
      .option('store', textOption('store', 'the results store dpl run wrote', { default: 'dpl-results.sqlite' }))
      .option('out', textOption('out', 'folder for the report files', { default: 'dpl-report' }))
      .option('format', {
        type: 'string',
        requiresArg: true,
        default: FORMATS.join(','),
        describe: `comma list of ${FORMATS.join(', ')}`,
        coerce: (v: string | string[]) => parseFormats(v),
      })
      .option(
        'permutations',
        intOption('permutations', 'random pairings per permutation p-value', { min: 1, max: 10_000_000 }, { default: '10000' }),
      )
      .option('seed', seedOption('seed of the permutation tests', { default: '0' })),
  handler: async (a) => {
    const formats = a.format as ReportFormat[];
    const permutations = a.permutations as number;
    const seed = a.seed as number;
    const file = path.resolve(ctx.io.cwd, a.store as string);
    const outDir = path.resolve(ctx.io.cwd, a.out as string);
    // checked here for the clearest message; the store is then opened read-only
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw pathError('--store', file, (e as NodeJS.ErrnoException).code);
      throw new DplError(
        'E_STORE',
        `no results store at ${file}`,
        'run `dpl run <suite>` first (e.g. dpl run suites/quick.yaml), or pass the store it wrote with --store',
      );
    }
    if (!st.isFile()) throw new DplError('E_STORE', `--store ${file}: is not a file`, 'pass the SQLite file dpl run wrote');
    checkOutDir('--out', outDir);
    let done: StoredCell[];
    let failed: StoredCell[];
    let counts: ReturnType<ResultsStore['counts']>;
    const store = new ResultsStore(file, { readonly: true }); // a report never writes to the store
    try {
      done = store.cells({ status: ['done'] });
      failed = store.cells({ status: ['failed'] });
      counts = store.counts();
    } finally {
      store.close();
    }
    if (!done.length)
      throw new DplError(
        'E_STORE',
        `the results store ${file} has no finished cells (${counts.pending} pending, ${counts.running} running, ${counts.failed} failed)`,
        counts.failed
          ? `the failed cells' errors: \`dpl run <suite>\` prints them; fix the cause and run it again (first error: ${failed[0]?.error?.split('\n')[0] ?? '?'})`
          : 'run `dpl run <suite>` on this store first',
      );

    const reg = await ctx.registry();
    const report = analyse(done, failed, registryLookup(reg), {
      store: file,
      reportVersion: DPL_VERSION,
      permutations,
      seed,
      counts,
    });
    // a report that fails half-way leaves no folder it made
    const created = !fs.existsSync(outDir);
    const written = await writeReport(report, outDir, formats, (w) => ctx.io.err(`warning: ${w}`)).catch((e: unknown) => {
      if (created) fs.rmSync(outDir, { recursive: true, force: true });
      throw e;
    });

    if (ctx.args.json)
      return ctx.json({
        out: outDir,
        files: written.files,
        charts: written.charts,
        chartErrors: written.chartErrors,
        useCases: report.useCases.map((u) => u.id),
        cells: counts,
        notes: report.notes,
      });
    const c = report.counts;
    ctx.io.out(
      `report of ${c.done} finished cells (${report.useCases.length} use cases${c.failed ? `, ${c.failed} failed cells listed` : ''}) in ${outDir}`,
    );
    for (const f of ['html', 'md'] as const) if (written.files[f]) ctx.io.out(`  ${written.files[f]}`);
    const others = formats.filter((f) => f !== 'html' && f !== 'md').map((f) => path.basename(written.files[f]!));
    if (others.length) ctx.io.out(`  also: ${others.join(', ')}`);
    if (report.notes.some((n) => n.includes('RANDOM'))) ctx.io.out('note: some networks ran with RANDOM weights (see the report)');
  },
});
