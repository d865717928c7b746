// Builds dist/: the Node ESM and CommonJS entries, the browser bundle (wasm
// fetched beside it) and its inlined variant, the wasm files beside them,
// and the type declarations.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync('dist', { recursive: true });
for (const f of ['linformer.wasm', 'linformer-relaxed.wasm']) copyFileSync(`build/${f}`, `dist/${f}`);

const common = { bundle: true, target: 'es2022', sourcemap: true, logLevel: 'warning' };

await Promise.all([
  build({ ...common, entryPoints: ['src/index.node.ts'], outfile: 'dist/index.node.js', format: 'esm', platform: 'node' }),
  build({
    ...common,
    entryPoints: ['src/index.node.ts'],
    outfile: 'dist/index.node.cjs',
    format: 'cjs',
    platform: 'node',
    // CommonJS has no import.meta: derive the module URL from __filename.
    define: { 'import.meta.url': '__linformer_module_url' },
    banner: { js: "const __linformer_module_url = require('node:url').pathToFileURL(__filename).href;" },
  }),
  build({ ...common, entryPoints: ['src/index.browser.ts'], outfile: 'dist/index.browser.js', format: 'esm', platform: 'neutral' }),
]);
