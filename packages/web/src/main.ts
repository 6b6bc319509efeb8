/** The page: inputs, the worker that computes, and the result (distance, layers, map, downloads). */
import { colourBarRgb, heatmapRgb } from '../../core/src/image/colormap';
import { npyBytes } from '../../core/src/weights/npy-write';
import { decodeImage, pairFolders, PageError } from './images';
import type { BackboneInfo, BackendWish, CompareRequest, CompareResult, Mode, NamedBytes, WorkerReply } from './protocol';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);
const radio = (name: string) => document.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`)!.value;

// ---------------------------------------------------------------------------------------------
// the worker

const worker = new Worker(new URL('./worker/worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;
const waiting = new Map<number, { resolve(r: WorkerReply): void }>();
worker.onmessage = (e: MessageEvent<WorkerReply>) => {
  const r = e.data;
  if (r.type === 'progress') return setStatus(r.text);
  waiting.get(r.id)?.resolve(r);
  waiting.delete(r.id);
};
worker.onerror = (e) => {
  for (const w of waiting.values())
    w.resolve({ id: 0, type: 'error', code: 'E_INTERNAL', message: `the worker stopped: ${e.message}`, hint: 'reload the page' });
  waiting.clear();
};
function ask(
  req: Omit<CompareRequest, 'id'> | { type: 'catalog'; backend: BackendWish },
  transfer: Transferable[] = [],
): Promise<WorkerReply> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, { resolve });
    worker.postMessage({ ...req, id }, transfer);
  });
}

// ---------------------------------------------------------------------------------------------
// status, errors, busy state

const setStatus = (t: string) => ($('status').textContent = t);
function showError(message: string, hint: string | null): void {
  const box = $('error');
  box.textContent = hint ? `${message}\nFix: ${hint}` : message;
  box.hidden = false;
  setStatus('');
}
function setBusy(busy: boolean): void {
  document.querySelector('main')!.setAttribute('aria-busy', String(busy));
  $<HTMLButtonElement>('compare').disabled = busy;
}

// ---------------------------------------------------------------------------------------------
// files: chosen, dropped, or from the weight cache

const chosen: Record<string, File | null> = { a: null, b: null, weights: null, lin: null };
function bindFile(key: string, inputId: string, dropId: string, nameId: string): void {
  const el = input(inputId);
  const set = (f: File | null) => {
    chosen[key] = f;
    $(nameId).textContent = f ? `${f.name} (${(f.size / 1024).toFixed(0)} KiB)` : 'none chosen';
    if (f && key === 'weights') (document.querySelector('input[name="wsource"][value="file"]') as HTMLInputElement).checked = true;
  };
  el.addEventListener('change', () => set(el.files?.[0] ?? null));
  const drop = $(dropId);
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) set(f);
  });
}
bindFile('a', 'image-a', 'drop-a', 'name-a');
bindFile('b', 'image-b', 'drop-b', 'name-b');
bindFile('weights', 'weights-file', 'drop-weights', 'name-weights');
bindFile('lin', 'lin-file', 'drop-lin', 'name-lin');
// a file dropped elsewhere must not replace the page
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

interface CachedFile {
  path: string;
  bytes: number;
  backbone: string | null;
  lpips: { net: string; version: string } | null;
}
let cache: CachedFile[] = [];

/** The weight cache, when `dpl web` serves the page (it answers /api/weights); otherwise the option stays hidden. */
async function loadCache(): Promise<void> {
  try {
    const r = await fetch('./api/weights');
    if (!r.ok) return;
    cache = ((await r.json()) as { files: CachedFile[] }).files;
  } catch {
    return;
  }
  const fill = (sel: HTMLSelectElement, files: CachedFile[]) => {
    sel.replaceChildren(...files.map((f) => new Option(`${f.path} (${(f.bytes / 1e6).toFixed(1)} MB)`, f.path)));
  };
  fill(
    select('weights-cache'),
    cache.filter((f) => !f.lpips),
  );
  fill(
    select('lin-cache'),
    cache.filter((f) => f.lpips),
  );
  $('wsource-cache-label').hidden = !cache.some((f) => !f.lpips);
  $('weights-cache-wrap').hidden = !cache.some((f) => !f.lpips);
  $('lin-cache-wrap').hidden = !cache.some((f) => f.lpips);
  pickCached();
}

/** Selects the cached files that fit the chosen network (and LPIPS net and version). */
function pickCached(): void {
  const id = currentBackboneId();
  const w = cache.find((f) => f.backbone === id);
  if (w) select('weights-cache').value = w.path;
  const m = currentMode();
  const l = m.kind === 'lpips' ? cache.find((f) => f.lpips?.net === m.net && f.lpips.version === m.version) : undefined;
  if (l) select('lin-cache').value = l.path;
}

async function fetchCached(path: string): Promise<NamedBytes> {
  const r = await fetch(`./weights/${path.split('/').map(encodeURIComponent).join('/')}`);
  if (!r.ok)
    throw new PageError(
      `cached weights ${path}: the server answered ${r.status}`,
      'check the file in the weight cache (dpl weights verify)',
    );
  return { name: path, bytes: await r.arrayBuffer() };
}

const bytesOf = async (f: File): Promise<NamedBytes> => ({ name: f.name, bytes: await f.arrayBuffer() });

// ---------------------------------------------------------------------------------------------
// mode and backbones

let catalog: BackboneInfo[] = [];
const LPIPS_BACKBONE: Record<string, string> = { alex: 'alexnet', vgg: 'vgg16', squeeze: 'squeezenet1_1' };

function currentMode(): Mode {
  if (radio('mode') === 'lpips') {
    return { kind: 'lpips', net: select('net').value as 'alex', version: select('version').value as '0.1', lin: input('lin').checked };
  }
  return {
    kind: 'backbone',
    backbone: select('backbone').value,
    points: input('points').value,
    variant: select('variant').value as 'baseline',
    normalize: select('normalize').value as 'imagenet',
  };
}
const currentBackboneId = () => {
  const m = currentMode();
  return m.kind === 'lpips' ? LPIPS_BACKBONE[m.net] : m.backbone;
};

function showPoints(): void {
  const b = catalog.find((x) => x.id === select('backbone').value);
  if (!b) return;
  $('point-names').replaceChildren(...['paper', 'all', ...b.points.map((p) => p.name)].map((n) => new Option(n, n)));
  const paper = b.points.filter((p) => p.paper).map((p) => p.name);
  $('point-list').textContent =
    `${b.points.length} points; paper: ${paper.join(', ') || '(none)'}. Give names separated by commas, 'paper' or 'all'.`;
}

function syncMode(): void {
  const lpips = radio('mode') === 'lpips';
  $('lpips-options').hidden = !lpips;
  $('backbone-options').hidden = lpips;
  const linNeeded = lpips ? input('lin').checked : select('variant').value === 'lin';
  $('lin-row').hidden = !linNeeded;
  pickCached();
}
for (const el of document.querySelectorAll('input[name="mode"], #net, #version, #lin, #variant, #backbone'))
  el.addEventListener('change', syncMode);
select('backbone').addEventListener('change', showPoints);

async function loadCatalog(): Promise<void> {
  const r = await ask({ type: 'catalog', backend: select('backend').value as BackendWish });
  if (r.type !== 'catalog') return showError(r.type === 'error' ? r.message : 'the backbone list did not load', null);
  showBackend(r.backend);
  catalog = r.backbones;
  select('backbone').replaceChildren(...catalog.map((b) => new Option(`${b.id} (${b.family})`, b.id)));
  select('backbone').value = 'vgg16';
  showPoints();
}

// ---------------------------------------------------------------------------------------------
// comparing

async function request(): Promise<{ req: Omit<CompareRequest, 'id'>; transfer: Transferable[] }> {
  const mode = currentMode();
  const dirA = [...(input('dir-a').files ?? [])];
  const dirB = [...(input('dir-b').files ?? [])];
  let pairs: CompareRequest['pairs'];
  if (dirA.length || dirB.length) {
    if (!dirA.length || !dirB.length)
      throw new PageError('one folder chosen', 'choose folder A and folder B, or clear them to compare two images');
    pairs = [];
    for (const p of pairFolders(dirA, dirB)) pairs.push({ name: p.name, a: await decodeImage(p.a), b: await decodeImage(p.b) });
  } else {
    if (!chosen.a || !chosen.b) throw new PageError('two images are needed', 'choose or drop image A and image B');
    pairs = [{ name: chosen.a.name, a: await decodeImage(chosen.a), b: await decodeImage(chosen.b) }];
  }
  const source = radio('wsource');
  let weights: CompareRequest['weights'];
  if (source === 'random') {
    const seed = Number(input('seed').value);
    if (!Number.isInteger(seed) || seed < 0)
      throw new PageError(`seed ${input('seed').value}: must be a whole number >= 0`, 'enter e.g. 0');
    weights = { kind: 'random', seed };
  } else if (source === 'cache') {
    weights = { kind: 'file', file: await fetchCached(select('weights-cache').value) };
  } else {
    if (!chosen.weights)
      throw new PageError(
        `no weights file for ${currentBackboneId()}`,
        `drop its torchvision .pth or .safetensors file, or choose seeded random weights`,
      );
    weights = { kind: 'file', file: await bytesOf(chosen.weights) };
  }
  const linNeeded = mode.kind === 'lpips' ? mode.lin : mode.variant === 'lin';
  let lin: NamedBytes | null = null;
  if (linNeeded) {
    if (chosen.lin) lin = await bytesOf(chosen.lin);
    else if (!$('lin-cache-wrap').hidden && select('lin-cache').value) lin = await fetchCached(select('lin-cache').value);
  }
  const transfer: Transferable[] = pairs.flatMap((p) => [p.a.data.buffer, p.b.data.buffer]);
  if (weights.kind === 'file') transfer.push(weights.file.bytes);
  if (lin) transfer.push(lin.bytes);
  return { req: { type: 'compare', backend: select('backend').value as BackendWish, mode, weights, lin, pairs }, transfer };
}

let last: { result: CompareResult; under: ImageData | null } | null = null;

async function runCompare(): Promise<void> {
  $('error').hidden = true;
  // a result stays on screen only while it belongs to the current inputs
  $('result').hidden = true;
  last = null;
  setBusy(true);
  setStatus('reading the files');
  try {
    const { req, transfer } = await request();
    const first = req.pairs.length === 1 ? req.pairs[0].a : null;
    const under = first ? imageDataOf(first.width, first.height, first.data) : null;
    const r = await ask(req, transfer);
    if (r.type === 'error') return showError(r.message, r.hint);
    if (r.type !== 'done') return;
    last = { result: r.result, under };
    showResult(r.result, under);
    setStatus(`done in ${(r.result.record.seconds as number).toFixed(2)} s on ${r.result.backend.name}`);
  } catch (e) {
    if (e instanceof PageError) showError(e.message, e.hint);
    else showError(`internal error: ${(e as Error).message}`, 'reload the page');
  } finally {
    setBusy(false);
  }
}
$('compare').addEventListener('click', () => void runCompare());

function imageDataOf(w: number, h: number, rgb: Float32Array): ImageData {
  const out = new ImageData(w, h);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    out.data[i] = Math.round(rgb[j] * 255);
    out.data[i + 1] = Math.round(rgb[j + 1] * 255);
    out.data[i + 2] = Math.round(rgb[j + 2] * 255);
    out.data[i + 3] = 255;
  }
  return out;
}

const rgbToImageData = (rgb: Uint8Array, w: number, h: number) => {
  const out = new ImageData(w, h);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    out.data[i] = rgb[j];
    out.data[i + 1] = rgb[j + 1];
    out.data[i + 2] = rgb[j + 2];
    out.data[i + 3] = 255;
  }
  return out;
};

const fmt = (v: number) => (v === 0 ? '0' : v.toPrecision(6));

function showResult(res: CompareResult, under: ImageData | null): void {
  const rec = res.record;
  $('result').hidden = false;
  showBackend(res.backend);
  $('result').dataset.tensors = String(res.tensors);
  const weights = rec.weights as { kind: string; seed?: number; file?: string };
  const note = $('random-note');
  note.hidden = weights.kind !== 'random';
  note.textContent = `RANDOM weights (seed ${weights.seed}): the network is untrained, so these are not perceptual distances.`;
  const lp = rec.lpips as { net: string; version: string; lin: boolean } | null;
  $('described').textContent =
    `${lp ? `LPIPS ${lp.net} v${lp.version}${lp.lin ? '' : ' no-lin'}: ` : ''}${String(rec.backbone)} @ ${(rec.points as string[]).join(', ')}, ${String(rec.variant)}, weights ${weights.kind === 'random' ? `random (seed ${weights.seed})` : `${weights.kind} ${weights.file}`}, tfjs-${res.backend.name}`;
  $('single').hidden = !res.single;
  $('pairs').hidden = !res.pairs;
  if (res.pairs) {
    $('distance').textContent = `${fmt(rec.mean as number)} (mean of ${res.pairs.length} pairs, std ${fmt(rec.std as number)})`;
    $('pairs')
      .querySelector('tbody')!
      .replaceChildren(...res.pairs.map((p) => row([p.name, String(p.distance)])));
    return;
  }
  const s = res.single!;
  $('distance').textContent = String(s.distance);
  $('layers')
    .querySelector('tbody')!
    .replaceChildren(
      ...s.layers.map((l) => row([l.point, fmt(l.distance), `${s.distance > 0 ? ((100 * l.distance) / s.distance).toFixed(1) : '0.0'} %`])),
    );
  const { width: w, height: h } = s.map;
  for (const id of ['under', 'map']) {
    const c = $<HTMLCanvasElement>(id);
    c.width = w;
    c.height = h;
  }
  if (under) $<HTMLCanvasElement>('under').getContext('2d')!.putImageData(under, 0, 0);
  $<HTMLCanvasElement>('map')
    .getContext('2d')!
    .putImageData(rgbToImageData(heatmapRgb(s.map.data, s.map.max), w, h), 0, 0);
  const scale = $<HTMLCanvasElement>('scale');
  // the colour bar, 0 on the left
  const bar = colourBarRgb(1, scale.width);
  const img = new ImageData(scale.width, scale.height);
  for (let x = 0; x < scale.width; x++)
    for (let y = 0; y < scale.height; y++)
      img.data.set([...bar.subarray(3 * (scale.width - 1 - x), 3 * (scale.width - x)), 255], 4 * (y * scale.width + x));
  scale.getContext('2d')!.putImageData(img, 0, 0);
  $('scale-max').textContent = fmt(s.map.max);
}

function showBackend(b: { name: string; notes: string[] }): void {
  $('backend-name').textContent = b.name;
  $('backend-notes').textContent = b.notes.length ? `(not used: ${b.notes.join('; ')})` : '';
}

function row(cells: string[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const c of cells) tr.appendChild(Object.assign(document.createElement('td'), { textContent: c }));
  return tr;
}

input('opacity').addEventListener('input', () => ($('map').style.opacity = String(Number(input('opacity').value) / 100)));

// ---------------------------------------------------------------------------------------------
// downloads

function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

$('dl-json').addEventListener(
  'click',
  () => last && download('similarity.json', `${JSON.stringify(last.result.record, null, 2)}\n`, 'application/json'),
);
$('dl-npy').addEventListener('click', () => {
  const m = last?.result.single?.map;
  if (m) download('distance-map.npy', npyBytes([1, 1, m.height, m.width], m.data) as Uint8Array<ArrayBuffer>, 'application/octet-stream');
});
$('dl-png').addEventListener('click', () => {
  const s = last?.result.single;
  if (!s) return;
  // as `dpl similarity --map x.png --map-overlay`, at the page's opacity: the map over image A, a colour bar and its scale
  const { width: w, height: h } = s.map;
  const barH = Math.max(h, 64);
  const c = new OffscreenCanvas(w + 80, barH);
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  const alpha = Number(input('opacity').value) / 100;
  const under = last?.under ? rgbFloat(last.under) : undefined;
  ctx.putImageData(rgbToImageData(heatmapRgb(s.map.data, s.map.max, under, alpha), w, h), 0, 0);
  ctx.putImageData(rgbToImageData(colourBarRgb(16, barH), 16, barH), w + 4, 0);
  ctx.fillStyle = '#000';
  ctx.font = '11px sans-serif';
  ctx.fillText(fmt(s.map.max), w + 24, 11);
  ctx.fillText('0', w + 24, barH - 2);
  void c.convertToBlob({ type: 'image/png' }).then((b) => download('distance-map.png', b, 'image/png'));
});

function rgbFloat(img: ImageData): Float32Array {
  const out = new Float32Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < img.data.length; i += 4, j += 3) {
    out[j] = img.data[i] / 255;
    out[j + 1] = img.data[i + 1] / 255;
    out[j + 2] = img.data[i + 2] / 255;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// start

const params = new URLSearchParams(location.search);
const wish = params.get('backend');
if (wish && [...select('backend').options].some((o) => o.value === wish)) select('backend').value = wish;
syncMode();
void loadCatalog().then(loadCache);
