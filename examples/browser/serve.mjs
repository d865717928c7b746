// Serves the repository on http://127.0.0.1:8080/ so the example page can
// import dist/ (run `npm run build` first), then open
// http://127.0.0.1:8080/examples/browser/. Any static server will do as well.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const port = Number(process.env.PORT ?? 8080);
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };

createServer((req, res) => {
  let file = resolve(join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  try {
    if (!file.startsWith(root.replace(/[\\/]$/, '') + sep) && file !== resolve(root)) throw new Error('outside');
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    statSync(file);
  } catch {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}).listen(port, '127.0.0.1', () => console.log(`http://127.0.0.1:${port}/examples/browser/`));
