// A static file server on 127.0.0.1 for the browser tests: URL prefixes
// mapped to directories, wasm served as application/wasm, and the isolation
// headers under which browsers enable SharedArrayBuffer.
import { createServer, type Server } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.css': 'text/css; charset=utf-8',
};

export interface StaticServer {
  /** The origin, e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** Every path that was asked for, with its status. */
  readonly requests: { path: string; status: number }[];
  close(): Promise<void>;
}

/** Serves `routes` (URL prefix → directory; longest prefix wins) on 127.0.0.1 at a free port. */
export async function serveStatic(routes: Record<string, string>): Promise<StaticServer> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const requests: { path: string; status: number }[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = resolveFile(path);
    const status = file ? 200 : 404;
    requests.push({ path, status });
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cache-Control', 'no-store');
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });

  function resolveFile(path: string): string | null {
    const prefix = prefixes.find((p) => path.startsWith(p));
    if (prefix === undefined) return null;
    const root = resolve(routes[prefix]);
    let file = resolve(join(root, path.slice(prefix.length)));
    // Nothing outside the mapped directory, whatever the path says.
    if (file !== root && !file.startsWith(root + sep)) return null;
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      return statSync(file).isFile() ? file : null;
    } catch {
      return null;
    }
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
