/** Where a command writes; tests capture it, main() uses the process streams. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  cwd: string;
  /** True when stdout is a terminal (progress bars); false in tests and pipes. */
  tty: boolean;
}

export const processIO = (): CliIO => ({
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  cwd: process.cwd(),
  tty: Boolean(process.stdout.isTTY),
});

/** Fixed-width text table for human output. */
export function table(rows: (string | number)[][], header: string[]): string {
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) =>
    r
      .map((c, i) => String(c).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
