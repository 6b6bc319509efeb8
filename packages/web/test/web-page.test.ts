/**
 * The page in a real browser: Debian's Chromium driven by playwright-core loads it from `dpl web`
 * on a free port, compares two PNGs with a network checkpoint (.safetensors) and an LPIPS lin file
 * (.pth, zip) written here with torch, on the wasm backend, and checks the distance, the map canvas,
 * the downloaded .npy map and JSON record against `dpl similarity` on the same inputs; hostile and
 * wrong inputs must be refused on the page in words, and the page must not request anything from
 * another origin. Skipped, saying why, without Chromium or torch, except under
 * DPL_REQUIRE_BROWSER=1 (CI), where that fails.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readNpy } from '@dpl/core';
import { referencePython } from '@dpl/core/testkit';

const ROOT = path.resolve(__dirname, '../../..');
const MAIN = path.join(ROOT, 'packages/cli/dist/main.js');
const CHROMIUM = process.env.DPL_CHROMIUM ?? '/usr/bin/chromium';
const PY = referencePython().python;
const REL_TOL = 1e-5;

function problem(): string | null {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set DPL_CHROMIUM)`;
  try {
    execFileSync(PY, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return `${PY} has no torch (it writes the test's checkpoints)`;
  }
  return null;
}
const why = problem();
if (why && process.env.DPL_REQUIRE_BROWSER === '1') {
  test('the browser tests can run (DPL_REQUIRE_BROWSER=1)', () => {
    throw new Error(`browser e2e cannot run: ${why}`);
  });
} else if (why) console.log(`browser e2e skipped: ${why}`);
const maybe = why ? describe.skip : describe;

/** A seeded pseudo-random RGB PNG. */
async function png(file: string, w: number, h: number, seed: number): Promise<string> {
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

/** `dpl similarity ... --json` on the wasm backend and the tfjs engine, as the page computes. */
function cli(args: string[], home: string): Record<string, any> {
  const out = execFileSync(process.execPath, [MAIN, 'similarity', ...args, '--engine', 'tfjs', '--json'], {
    env: { ...process.env, DPL_HOME: home, DPL_BACKEND: 'wasm' },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out);
}

maybe('the page served by dpl web', () => {
  let dir: string;
  let home: string;
  let server: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  const foreign: string[] = [];
  let firstDistance = NaN;
  let tensorsAfterFirst = NaN;
  const f = (n: string) => path.join(dir, n);

  beforeAll(async () => {
    for (const built of [MAIN, path.join(ROOT, 'packages/web/dist/index.html')])
      if (!fs.existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-web-'));
    home = path.join(dir, 'home');
    fs.mkdirSync(home);
    await png(f('a.png'), 64, 48, 1);
    await png(f('b.png'), 64, 48, 2);
    // seeded torchvision alexnet features (as safetensors, the CLI's reader and the page's) and
    // seeded LPIPS lin weights in the lpips package's .pth format (torch.save: the zip container)
    execFileSync(PY, [
      '-c',
      `
import torch, torchvision, struct, json
torch.manual_seed(7)
sd = {k: v.contiguous() for k, v in torchvision.models.alexnet().state_dict().items() if k.startswith('features.')}
hdr, off, blobs = {}, 0, []
for k, v in sd.items():
    b = v.numpy().astype('<f4').tobytes(); hdr[k] = {'dtype': 'F32', 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}; off += len(b); blobs.append(b)
h = json.dumps(hdr).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
open('${f('alex.safetensors')}', 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
lin = {f'lin{i}.model.1.weight': torch.rand(1, c, 1, 1) for i, c in enumerate([64, 192, 384, 256, 256])}
torch.save(lin, '${f('lin.pth')}')
`,
    ]);
    // a pickle that would run os.system('id') if it were unpickled by Python
    fs.writeFileSync(f('evil.pth'), Buffer.from('\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.', 'latin1'));
    // a PNG whose header claims 6000x5000 pixels (the page refuses it before decoding)
    const ihdr = Buffer.alloc(25);
    ihdr.writeUInt32BE(13, 0);
    ihdr.write('IHDR', 4, 'latin1');
    ihdr.writeUInt32BE(6000, 8);
    ihdr.writeUInt32BE(5000, 12);
    ihdr[16] = 8;
    ihdr[17] = 2;
    fs.writeFileSync(f('huge.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr]));

    // the lin file also in the weight cache, where `dpl weights pull lpips` puts LPIPS' own
    fs.mkdirSync(path.join(home, 'weights', 'lpips', 'v0.1'), { recursive: true });
    fs.copyFileSync(f('lin.pth'), path.join(home, 'weights', 'lpips', 'v0.1', 'alex.pth'));
    server = spawn(process.execPath, [MAIN, 'web', '--port', '0'], {
      env: { ...process.env, DPL_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let text = '';
      server.stdout!.on('data', (d: Buffer) => {
        text += String(d);
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(text);
        if (m) resolve(m[0]);
      });
      server.stderr!.on('data', (d: Buffer) => (text += String(d)));
      server.on('exit', (code) => reject(new Error(`dpl web exited (${code}): ${text}`)));
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ acceptDownloads: true });
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(url) && !u.startsWith('blob:') && !u.startsWith('data:')) foreign.push(u);
    });
    await page.goto(`${url}?backend=wasm`);
    // the backend in use shows before any comparison
    await page.locator('#backend-name', { hasText: 'wasm' }).waitFor({ timeout: 120_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Clicks Compare and waits for the result or the error box. */
  async function compare(): Promise<void> {
    await page.click('#compare');
    // a selector, not a script: the page's CSP forbids evaluating strings
    await page.locator('main[aria-busy="false"]').waitFor({ timeout: 240_000 });
  }

  async function downloaded(button: string): Promise<Buffer> {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    return fs.readFileSync(await d.path());
  }

  test('LPIPS alex v0.1: distance, map canvas, .npy map and JSON record equal dpl similarity on the same files (wasm)', async () => {
    await page.setInputFiles('#image-a', f('a.png'));
    await page.setInputFiles('#image-b', f('b.png'));
    await page.setInputFiles('#weights-file', f('alex.safetensors'));
    await page.setInputFiles('#lin-file', f('lin.pth'));
    await compare();
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.textContent('#backend-name')).toBe('wasm');

    const args = [f('a.png'), f('b.png'), '--lpips', '--weights', f('alex.safetensors'), '--lin-weights', f('lin.pth')];
    const ref = cli([...args, '--map', f('ref.npy')], home);
    cli([...args, '--map', f('ref.png')], home);

    const record = JSON.parse(String(await downloaded('#dl-json'))) as Record<string, any>;
    expect(Object.keys(record).sort()).toEqual(Object.keys(ref).sort());
    expect(Math.abs(record.distance - ref.distance) / ref.distance).toBeLessThan(REL_TOL);
    expect(Number(await page.textContent('#distance'))).toBe(record.distance);
    firstDistance = record.distance;
    const tensors = await page.getAttribute('#result', 'data-tensors');
    expect(tensors).toMatch(/^\d+$/);
    tensorsAfterFirst = Number(tensors);
    expect(record.points).toEqual(ref.points);
    expect(record.lpips).toEqual(ref.lpips);
    expect(record.input).toEqual(ref.input);
    expect(record.weights.kind).toBe('file');
    expect(record.weights.sha256).toBe(ref.weights.sha256);
    expect(record.linWeights.sha256).toBe(ref.linWeights.sha256);
    expect(record.record.backend).toBe('wasm');
    expect(record.map.shape).toEqual(ref.map.shape);
    expect(Math.abs(record.map.max - ref.map.max) / ref.map.max).toBeLessThan(REL_TOL);

    // the layers add up to the distance
    const shares = (await page.locator('#layers tbody tr td:nth-child(2)').allTextContents()).map(Number);
    expect(shares).toHaveLength(5);
    expect(Math.abs(shares.reduce((s, v) => s + v, 0) - record.distance) / record.distance).toBeLessThan(1e-4);

    const npy = readNpy(await downloaded('#dl-npy'), 'page map');
    const cliMap = readNpy(fs.readFileSync(f('ref.npy')), 'cli map');
    expect(npy.shape).toEqual([1, 1, 48, 64]);
    expect(npy.shape).toEqual(cliMap.shape);
    let worst = 0;
    cliMap.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - npy.data[i]))));
    expect(worst).toBeLessThanOrEqual(1e-5 * ref.map.max);

    // the map canvas: the CLI's --map PNG, left of its colour bar, pixel for pixel (within a level of rounding)
    const drawn = (await page.evaluate(
      "Array.from(document.getElementById('map').getContext('2d').getImageData(0, 0, 64, 48).data)",
    )) as number[];
    const { data: cliPng, info } = await sharp(f('ref.png')).raw().toBuffer({ resolveWithObject: true });
    let maxDiff = 0;
    const colours = new Set<number>();
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < 64; x++)
        for (let c = 0; c < 3; c++) {
          const p = drawn[4 * (y * 64 + x) + c];
          maxDiff = Math.max(maxDiff, Math.abs(p - cliPng[info.channels * (y * info.width + x) + c]));
          if (c === 0) colours.add(p);
        }
    expect(colours.size).toBeGreaterThan(10);
    expect(maxDiff).toBeLessThanOrEqual(1);

    // the PNG download: the map, a colour bar and its labels, laid out as the CLI's (width + 80, at least 64 high)
    const shot = await sharp(await downloaded('#dl-png')).metadata();
    expect([shot.format, shot.width, shot.height]).toEqual(['png', 64 + 80, 64]);
  }, 300_000);

  test('the lin file from the weight cache (listed by dpl web) gives the same distance as the dropped copy', async () => {
    await page.setInputFiles('#lin-file', []);
    expect(await page.inputValue('#lin-cache')).toBe('lpips/v0.1/alex.pth');
    await compare();
    expect(await page.isHidden('#error')).toBe(true);
    const record = JSON.parse(String(await downloaded('#dl-json'))) as Record<string, any>;
    expect(record.linWeights.file).toBe('lpips/v0.1/alex.pth');
    expect(record.distance).toBe(firstDistance);
    // the same comparison again leaves no more tensors behind in the worker than the first did
    expect(await page.getAttribute('#result', 'data-tensors')).toBe(String(tensorsAfterFirst));
  }, 300_000);

  test('seeded random weights are labelled, and equal the CLI with --seed', async () => {
    await page.check('input[name="wsource"][value="random"]');
    await page.fill('#seed', '3');
    await page.uncheck('#lin');
    await compare();
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.textContent('#random-note')).toMatch(/RANDOM weights \(seed 3\)/);
    const ref = cli([f('a.png'), f('b.png'), '--lpips', '--no-lin', '--seed', '3'], home);
    const shown = Number(await page.textContent('#distance'));
    expect(Math.abs(shown - ref.distance) / ref.distance).toBeLessThan(REL_TOL);
    await page.check('#lin');
    await page.check('input[name="wsource"][value="file"]');
  }, 300_000);

  test('two folders of same-named images: a distance per pair, equal to dpl similarity --dir0/--dir1', async () => {
    for (const [d, x, y] of [
      ['d0', 'a.png', 'b.png'],
      ['d1', 'b.png', 'a.png'],
    ]) {
      fs.mkdirSync(f(d));
      fs.copyFileSync(f(x), path.join(f(d), 'p.png'));
      fs.copyFileSync(f(y), path.join(f(d), 'q.png'));
    }
    await page.check('input[name="wsource"][value="random"]');
    await page.fill('#seed', '1');
    await page.setInputFiles('#dir-a', f('d0'));
    await page.setInputFiles('#dir-b', f('d1'));
    await compare();
    expect(await page.isHidden('#error')).toBe(true);
    const record = JSON.parse(String(await downloaded('#dl-json'))) as Record<string, any>;
    const ref = cli(['--dir0', f('d0'), '--dir1', f('d1'), '--lpips', '--lin-weights', f('lin.pth'), '--seed', '1'], home);
    expect(Object.keys(record).sort()).toEqual(Object.keys(ref).sort());
    expect(record.pairs.map((p: { name: string }) => p.name)).toEqual(['p.png', 'q.png']);
    record.pairs.forEach((p: { distance: number }, i: number) =>
      expect(Math.abs(p.distance - ref.pairs[i].distance) / ref.pairs[i].distance).toBeLessThan(REL_TOL),
    );
    // back to two images: clear the folder inputs (a folder input takes no empty list)
    await page.evaluate("for (const id of ['dir-a', 'dir-b']) document.getElementById(id).value = ''");
    await page.check('input[name="wsource"][value="file"]');
  }, 300_000);

  test('a pickle that would call os.system is refused on the page, in words, and the page stays usable', async () => {
    await page.setInputFiles('#weights-file', f('evil.pth'));
    await compare();
    const text = await page.textContent('#error');
    expect(await page.isVisible('#error')).toBe(true);
    expect(text).toMatch(/evil\.pth/);
    expect(text).toMatch(/refusing to load: the pickle references the global 'posix\.system'/);
    // the previous result does not stay on screen as if it were this one's
    expect(await page.isHidden('#result')).toBe(true);
    expect(await page.isEnabled('#compare')).toBe(true);
  }, 300_000);

  test('weights of another network and a too large image are refused on the page, in words', async () => {
    // the lin file is a checkpoint, but not of alexnet's features
    await page.setInputFiles('#weights-file', f('lin.pth'));
    await compare();
    expect(await page.textContent('#error')).toMatch(/lin\.pth.*(missing|unexpected)/s);
    await page.setInputFiles('#weights-file', f('alex.safetensors'));
    await page.setInputFiles('#image-b', f('huge.png'));
    await compare();
    expect(await page.textContent('#error')).toMatch(/huge\.png: is too large for the page \(6000x5000/);
    await page.setInputFiles('#image-b', f('b.png'));
    await compare();
    expect(await page.isHidden('#error')).toBe(true);
  }, 300_000);

  test('the page made no request to another origin', () => {
    expect(foreign).toEqual([]);
  });
});
