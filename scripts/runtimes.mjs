// The JavaScript runtimes the suite runs on, pinned, each from the npm
// registry (the binary ships inside a registry package), unpacked under
// .runtimes/<name>/. `node scripts/runtimes.mjs` installs any that are
// missing and prints where they are; other scripts import `runtimes()`.
// Nothing is fetched from anywhere but the registry npm is set up for.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: the nearest folder above this file (or the bundle it was copied into) with the package's package.json. */
function repoRoot() {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'linformer-wasm') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`scripts/runtimes.mjs: no linformer-wasm package.json above ${import.meta.url}`);
    dir = up;
  }
}
const ROOT = repoRoot();
export const RUNTIMES_DIR = join(ROOT, '.runtimes');

const os = process.platform === 'win32' ? 'win' : process.platform;
const arch = process.arch;

/**
 * Every runtime the suite knows: the Node.js lines in use (20 is end-of-life
 * since 2026-04-30 but still inside `engines`), Bun and Deno. `bin` is the
 * executable's path inside the package.
 */
export const PINNED = {
  node20: { pkg: `node-${os}-${arch}`, version: '20.20.2', bin: 'bin/node' },
  node22: { pkg: `node-${os}-${arch}`, version: '22.23.5', bin: 'bin/node' },
  node24: { pkg: `node-${os}-${arch}`, version: '24.22.3', bin: 'bin/node' },
  node26: { pkg: `node-${os}-${arch}`, version: '26.12.1', bin: 'bin/node' },
  bun: { pkg: `@oven/bun-${os}-${arch === 'x64' ? 'x64' : 'aarch64'}`, version: '1.4.5', bin: 'bin/bun' },
  deno: { pkg: `@deno/${os}-${arch}${os === 'linux' ? '-glibc' : ''}`, version: '2.9.6', bin: 'deno' },
};

/** The Node.js lines of PINNED, oldest first. */
export const NODE_LINES = Object.keys(PINNED).filter((n) => n.startsWith('node'));

function binPath(name) {
  return join(RUNTIMES_DIR, name, PINNED[name].bin);
}

/**
 * The environment with the user's npm first: under `npm test`, PATH starts
 * with node_modules/.bin, where a dependency of as-pect installs an npm 6
 * of its own, too old for `npm pack --pack-destination`.
 */
function userNpmEnv() {
  const PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !/node_modules[\\/]\.bin$/.test(dir))
    .join(delimiter);
  return { ...process.env, PATH };
}

/** Installs `name` if it is missing; returns the path of its executable. */
export function install(name) {
  const { pkg, version } = PINNED[name];
  const bin = binPath(name);
  if (existsSync(bin)) return bin;
  mkdirSync(RUNTIMES_DIR, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), `runtime-${name}-`));
  try {
    // `npm pack` fetches the tarball from the configured registry and
    // checks its integrity; tar unpacks it into package/.
    execFileSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', tmp, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: userNpmEnv(),
    });
    const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${pkg}@${version} produced no tarball`);
    execFileSync('tar', ['xzf', join(tmp, tarball), '-C', tmp]);
    rmSync(join(RUNTIMES_DIR, name), { recursive: true, force: true });
    renameSync(join(tmp, 'package'), join(RUNTIMES_DIR, name));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!existsSync(bin)) throw new Error(`${pkg}@${version} has no ${PINNED[name].bin}`);
  execFileSync('chmod', ['+x', bin]);
  return bin;
}

/** The installed path of `name`, or null when it is not installed. */
export function installed(name) {
  const bin = binPath(name);
  return existsSync(bin) ? bin : null;
}

/** The Node.js line (major version) a binary reports. */
export function majorOf(bin) {
  return Number(execFileSync(bin, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim());
}

// Run as a script (not when imported, nor when bundled into another script).
if (process.argv[1] && /[\\/]runtimes\.mjs$/.test(process.argv[1])) {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(PINNED);
  for (const name of names) {
    if (!PINNED[name]) throw new Error(`unknown runtime '${name}'; known: ${Object.keys(PINNED).join(', ')}`);
    const bin = install(name);
    const v = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0];
    console.log(`${name.padEnd(7)} ${PINNED[name].pkg}@${PINNED[name].version}  ${v}  ${bin}`);
  }
}
