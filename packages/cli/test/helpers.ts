import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../src/cli';
import type { CliIO } from '../src/io';

export const ROOT = path.resolve(__dirname, '../../..');

export interface Run {
  code: number;
  out: string;
  err: string;
  json<T = unknown>(): T;
}

/** Runs the CLI in-process from `cwd` (default: the repository root) and captures its output. */
export async function dpl(args: string[], cwd = ROOT): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), cwd, tty: false };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n'), json: <T>() => JSON.parse(out.join('\n')) as T };
}

export const tmpDir = (prefix = 'dpl-cli-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** A seeded pseudo-random RGB PNG. */
export async function png(file: string, w: number, h: number, seed: number): Promise<string> {
  const buf = Buffer.alloc(w * h * 3);
  let s = seed * 7919 + 1;
  for (let i = 0; i < buf.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    buf[i] = s >> 23;
  }
  await sharp(buf, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
  return file;
}
