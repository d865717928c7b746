// The package as a user installs it: `npm pack` of this repo, the tarball
// installed offline into a new empty project. Shared by every test that
// runs the package somewhere else (Node consumers, bundlers, Bun, Deno).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './docs.js';

const run = promisify(execFile);
export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// Under `npm test`, PATH starts with node_modules/.bin, where a dependency of
// as-pect installs an npm 6 of its own: leave those out to get the user's npm.
const userPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !/node_modules[\\/]\.bin$/.test(dir))
  .join(delimiter);
export const npmEnv = { ...process.env, PATH: userPath };

export interface PackedFile {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

export interface PackedProject {
  /** The temporary folder holding the tarball and the project. */
  tempDir: string;
  /** The consumer project, with linformer-wasm in its node_modules. */
  project: string;
  /** node_modules/linformer-wasm inside it. */
  installed: string;
  /** What `npm pack --json` said of the tarball. */
  packed: PackedFile;
  /** Runs a program in the project; rejects with its output on a non-zero exit. */
  run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string>;
  /** Removes everything. */
  remove(): void;
}

/**
 * Packs the repo (build it first) and installs the tarball into a new
 * project whose package.json is `{ name, private, type: 'module', ...extra }`.
 */
export async function packedProject(prefix: string, extra: Record<string, unknown> = {}): Promise<PackedProject> {
  const tempDir = mkdtempSync(join(tmpdir(), `linformer-${prefix}-`));
  const { stdout } = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', tempDir], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: npmEnv,
  });
  const [packed] = JSON.parse(stdout) as PackedFile[];
  const project = join(tempDir, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', ...extra }));
  // The tarball has no dependencies, so nothing needs the registry; a cache
  // of its own keeps the user's npm cache out of it.
  await run(
    npm,
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--cache', join(tempDir, 'npm-cache'), join(tempDir, packed.filename)],
    { cwd: project, encoding: 'utf8', env: npmEnv },
  );
  return {
    tempDir,
    project,
    installed: join(project, 'node_modules', 'linformer-wasm'),
    packed,
    async run(file, args, env) {
      try {
        const { stdout } = await run(file, args, { cwd: project, encoding: 'utf8', env: env ?? process.env });
        return stdout;
      } catch (e) {
        const { stdout, stderr } = e as { stdout?: string; stderr?: string };
        throw new Error(`${file} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
      }
    },
    remove() {
      rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
