/**
 * A reader that stops early (`dpl queue status | head -1`) closes the pipe; the next write fails
 * with EPIPE. That is no error of dpl's: end quietly (no stack) with the exit code so far.
 * Imported for its effect by main.ts.
 */
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
