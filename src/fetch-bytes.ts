// How the browser and worker entries read init(url): with fetch, the only
// I/O those runtimes share.

export async function fetchBytes(source: URL | string): Promise<ArrayBuffer> {
  const response = await fetch(source);
  if (!response.ok) throw new Error(`linformer-wasm: fetching ${String(source)} failed: HTTP ${response.status}`);
  return response.arrayBuffer();
}
