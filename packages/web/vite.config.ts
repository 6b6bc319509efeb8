/**
 * Builds the page into dist/ (served by `dpl web`). It bundles @dpl/core's browser entry
 * (packages/core/src/browser.ts) and the backbone families' sources, so the page runs the same
 * networks, weight readers and distance as the CLI. Three core modules are node-only and are
 * swapped for browser versions here: the tensor backend choice (tfjs-node, wasm via require), the
 * gradient registration (tfjs-layers; the page never trains) and the onnx engine (onnxruntime-node).
 */
import * as path from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const core = (f: string) => path.resolve(import.meta.dirname, '../core/src', f);
const shim = (f: string) => path.resolve(import.meta.dirname, 'src/shims', f);
const SHIMS = new Map([
  [core('backend.ts'), shim('backend.ts')],
  [core('gradients.ts'), shim('gradients.ts')],
  [core('onnx/engine.ts'), shim('engine.ts')],
]);

function browserShims(): Plugin {
  return {
    name: 'dpl-browser-shims',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      const r = await this.resolve(source, importer, { ...options, skipSelf: true });
      return r ? (SHIMS.get(r.id) ?? null) : null;
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  resolve: {
    alias: [
      { find: /^@dpl\/core$/, replacement: core('browser.ts') },
      { find: /^@dpl\/backbone-(.+)$/, replacement: path.resolve(import.meta.dirname, '../backbones/$1/src/index.ts') },
    ],
  },
  // core reads DPL_* limits from process.env; the page has none, so the defaults apply
  define: { 'process.env': '{}' },
  plugins: [browserShims()],
  worker: { format: 'es', plugins: () => [browserShims()] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
    // the worker holds tfjs and the networks (about 1.8 MB); the bundler's timing report is noise in `npm run build`
    rolldownOptions: { checks: { pluginTimings: false } },
  },
});
