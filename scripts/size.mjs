// Prints what the package weighs: the npm tarball, and the gzipped bytes a
// browser downloads (the bundle plus the one wasm build init() picks, and
// with threads the threaded build and the worker script).
// Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { gzipSync } from 'node:zlib';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// Under `npm run`, PATH starts with node_modules/.bin, where a dependency of
// as-pect installs an npm 6 of its own: leave those out to get the user's npm.
const PATH = process.env.PATH.split(delimiter).filter((dir) => !/node_modules[\\/]\.bin$/.test(dir)).join(delimiter);
const [pack] = JSON.parse(
  execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PATH } }),
);

const raw = (file) => readFileSync(`dist/${file}`).length;
const gz = (file) => gzipSync(readFileSync(`dist/${file}`), { level: 9 }).length;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`.padStart(10);

console.log(`npm package ${pack.filename}: ${kib(pack.size)} packed, ${kib(pack.unpackedSize)} unpacked, ${pack.entryCount} files`);
console.log(`\n${'browser download'.padEnd(50)}       raw   gzipped`);
const rows = [
  ['index.browser.js', ['index.browser.js']],
  ['linformer.wasm (SIMD)', ['linformer.wasm']],
  ['linformer-relaxed.wasm', ['linformer-relaxed.wasm']],
  ['bundle + relaxed wasm', ['index.browser.js', 'linformer-relaxed.wasm']],
  ['bundle + SIMD wasm', ['index.browser.js', 'linformer.wasm']],
  ['linformer-worker.js', ['linformer-worker.js']],
  ['threads: bundle + relaxed-threads wasm + worker', ['index.browser.js', 'linformer-relaxed-threads.wasm', 'linformer-worker.js']],
  ['index.browser.inline.js', ['index.browser.inline.js']],
];
for (const [label, files] of rows) {
  const sum = (f) => files.reduce((n, file) => n + f(file), 0);
  console.log(`  ${label.padEnd(48)}${kib(sum(raw))}${kib(sum(gz))}`);
}
