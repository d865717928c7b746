// Builds what `npm run bench` runs: the package (dist/, only when missing or
// older than its sources) and the harness bundles in bench/.out/: the Node
// processes' and the --browser page's.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (...p) => path.join(root, ...p);

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).filter((f) => f !== '__tests__').map((f) => newest(path.join(p, f))));
}

const products = ['index.node.js', 'linformer.wasm', 'linformer-relaxed.wasm', 'types/index.d.ts'].map((f) => at('dist', f));
const sources = ['src', 'assembly', 'asconfig.json', 'scripts/build.mjs'].map((f) => at(f));
const built = products.every(existsSync) ? Math.min(...products.map((f) => statSync(f).mtimeMs)) : 0;
if (built < Math.max(...sources.map(newest))) {
  process.stderr.write(built ? 'bench: dist/ is older than its sources, rebuilding the package\n' : 'bench: building the package\n');
  // the build's output goes to stderr: stdout carries the results only
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 2, 2], shell: process.platform === 'win32' });
  if (r.status !== 0) {
    if (!products.every(existsSync)) process.exit(r.status ?? 1);
    process.stderr.write('bench: the package build failed; measuring the dist/ already there\n');
  }
}

// hashed chunk names change from build to build: start from none
rmSync(at('bench/.out/chunks'), { recursive: true, force: true });
await build({
  entryPoints: { main: at('bench/main.ts'), worker: at('bench/worker.ts') },
  outdir: at('bench/.out'),
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // the package under test is imported as users import it (dist/, through package.json "exports")
  packages: 'external',
  logLevel: 'warning',
});
// The --browser page: the package and onnxruntime-web stay imports, which the
// page's import map sends to their dist/ files (bench/browser/serve.ts).
await build({
  entryPoints: { page: at('bench/browser/page.ts') },
  outdir: at('bench/.out/browser'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  external: ['linformer-wasm', 'onnxruntime-web'],
  logLevel: 'warning',
});
