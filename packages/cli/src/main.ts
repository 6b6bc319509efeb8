#!/usr/bin/env node
import './epipe'; // a closed pipe (| head) ends dpl quietly
import { runCli } from './cli';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // runCli reports every failure itself; this is a bug in that reporting
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`internal error: ${err.message}\n`);
    process.stderr.write(process.env.DPL_DEBUG === '1' ? `${err.stack}\n` : '  (rerun with DPL_DEBUG=1 to see the stack trace)\n');
    process.exitCode = 1;
  },
);
