#!/usr/bin/env node
import { runCli } from './cli';

// a reader that stops early (`dpl queue status | head -1`) closes the pipe: end quietly, no stack
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`internal error: ${(e as Error).stack}\n`);
    process.exitCode = 2;
  },
);
