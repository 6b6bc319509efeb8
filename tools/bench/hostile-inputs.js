#!/usr/bin/env node
/**
 * Peak memory of reading the hostile inputs of issue 16 with the built readers: each file is
 * written by the reference Python (torch.save / PIL, so they are real files) and read by a fresh
 * child process, which reports its error and its peak RSS (process.resourceUsage().maxRSS).
 * Prints a table: input, file size, the first line of the error, peak RSS. For scale, the last
 * row is a child that loads @dpl/core and reads nothing.
 *
 * usage: node tools/bench/hostile-inputs.js      (needs a build first: npm run build)
 *   DPL_PYTHON picks the reference Python (else the python3 that has torch) (needs torch and PIL)
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PYTHON = require('../../packages/core/dist/testkit/python').referencePython().python; // $DPL_PYTHON or the python3 with torch
const DIST = path.resolve(__dirname, '../../packages/core/dist/index.js');

const MAKE = `
import sys, os, torch
from PIL import Image
out = sys.argv[1]
p = lambda n: os.path.join(out, n)
torch.save({"w": torch.zeros(1).expand(20000, 20000)}, p("stride0_20000.pth"))
torch.save({"w": torch.zeros(1).expand(30000, 30000)}, p("stride0_30000.pth"))
torch.save({"w": torch.zeros(1).expand(20000, 20000)}, p("stride0_20000_legacy.pth"), _use_new_zipfile_serialization=False)
m = torch.nn.Conv2d(3, 8, 3).state_dict()
m["weight"][0, 0, 0, 0] = float("nan")
torch.save(m, p("nan.pth"))
Image.new("1", (16000, 16000)).save(p("bomb_16000.png"), optimize=True)
`;

function main() {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} missing: run npm run build first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-bench-hostile-'));
  try {
    const r = spawnSync(PYTHON, ['-c', MAKE, dir], { encoding: 'utf-8' });
    if (r.status !== 0) throw new Error(`${PYTHON} failed:\n${r.stderr}`);
    const fifo = path.join(dir, 'fifo.png');
    spawnSync('mkfifo', [fifo]);
    const a = path.join(dir, 'loop.png');
    fs.symlinkSync(path.join(dir, 'loop2.png'), a);
    fs.symlinkSync(a, path.join(dir, 'loop2.png'));
    const cases = [
      ['stride0_20000.pth', 'readWeights'],
      ['stride0_20000_legacy.pth', 'readWeights'],
      ['stride0_30000.pth', 'readWeights'],
      ['nan.pth', 'readWeights'],
      ['bomb_16000.png', 'readImage'],
      ['bomb_16000.png', 'readInputTensor'],
      ['fifo.png', 'readImage'],
      ['loop.png', 'readImage'],
      [null, 'nothing'],
    ];
    const rows = [['input', 'bytes', 'call', 'result', 'peak RSS']];
    for (const [name, call] of cases) {
      const file = name ? path.join(dir, name) : '';
      const script = `
        const core = require(${JSON.stringify(DIST)});
        const call = ${JSON.stringify(call)};
        const done = (r) => process.stdout.write(JSON.stringify({ ...r, rss: process.resourceUsage().maxRSS * 1024 }));
        (call === 'nothing' ? Promise.resolve() : core[call](${JSON.stringify(file)})).then(
          () => done({ result: 'read' }),
          (e) => done({ result: (core.isDplError(e) ? '' : 'NOT A DplError: ') + String(e.message).split('\\n')[0].replace(${JSON.stringify(dir + '/')}, '') }),
        );`;
      const c = spawnSync(process.execPath, ['-e', script], { encoding: 'utf-8', timeout: 120000 });
      const rep = c.stdout ? JSON.parse(c.stdout) : { result: `child failed: ${c.signal ?? c.status} ${c.stderr.slice(-200)}`, rss: NaN };
      const size = file && fs.lstatSync(file).isFile() ? String(fs.statSync(file).size) : name ? '-' : '';
      rows.push([name ?? '(load @dpl/core only)', size, call, rep.result, `${(rep.rss / 1024 ** 2).toFixed(0)} MB`]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join(' | '));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
