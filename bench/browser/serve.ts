// The --browser server on 127.0.0.1: the page, the package's dist/, the
// dist/ of onnxruntime-web and the page bundle, every response with the
// COOP/COEP headers under which Chromium makes the page crossOriginIsolated
// (SharedArrayBuffer, so both engines can run threads). The page sends each
// engine's output back (POST /out/NAME): it is written to `outDir` and the
// reply is its path, for the harness's output checks.
import { createServer } from 'node:http';
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

/** Bare specifiers the page bundle leaves to the browser, as users' pages import them. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>linformer-wasm bench</title>
<link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "linformer-wasm": "/pkg/index.browser.js", "onnxruntime-web": "/ort/ort.wasm.min.mjs" } }</script>
<script type="module" src="/bench/page.js"></script>
`;

export interface BenchServer {
  origin: string;
  close(): Promise<void>;
}

/** Serves `routes` (URL prefix → directory) and the page at /. */
export async function serveBench(routes: Record<string, string>, outDir: string): Promise<BenchServer> {
  const server = createServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cache-Control', 'no-store');
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method === 'POST' && /^\/out\/[\w.-]+$/.test(url)) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const file = path.join(outDir, `${url.slice('/out/'.length)}.f32`);
        writeFileSync(file, Buffer.concat(chunks));
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(file);
      });
      return;
    }
    if (url === '/') {
      res.writeHead(200, { 'Content-Type': TYPES['.html'] }).end(PAGE);
      return;
    }
    const file = fileOf(routes, url);
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${url}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The file a URL names under its route's directory, or null (nothing outside it, whatever the path says). */
function fileOf(routes: Record<string, string>, url: string): string | null {
  const prefix = Object.keys(routes).find((p) => url.startsWith(p));
  if (prefix === undefined) return null;
  const dir = path.resolve(routes[prefix]);
  const file = path.resolve(dir, url.slice(prefix.length));
  if (!file.startsWith(dir + path.sep)) return null;
  try {
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}
