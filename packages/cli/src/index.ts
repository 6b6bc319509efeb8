export { runCli } from './cli';
export type { CliIO } from './io';
