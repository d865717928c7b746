// Multi-head attention as an HTTP endpoint on Cloudflare Workers / workerd.
//
// POST the inputs as JSON — {"query": {"dims": [L, N, E], "data": [...]},
// "key": ..., "value": ..., "keyPaddingMask"?: ..., "attnMask"?: ...} — or as
// the bytes of a .safetensors file holding `query`, `key` and `value`
// (Content-Type: application/octet-stream). The answer comes back in the
// same form: {"output": ..., "weights": ...} or a .safetensors file with
// `output` (and `weights`). `?needWeights=true` asks for the attention
// weights, `&averageAttnWeights=false` for them per head. In JSON, a mask
// whose data are booleans is a boolean mask (true = masked out), numbers are
// added to the scores; non-finite outputs come back as null.
//
// The model comes from the bindings: MODEL (JSON: module, embedDim,
// numHeads, options) and, optionally, WEIGHTS (a torch state_dict exported
// as .safetensors, e.g. by scripts/export_safetensors.py).
import simd from 'linformer-wasm/linformer.wasm';
import relaxed from 'linformer-wasm/linformer-relaxed.wasm';
import {
  init,
  backendInfo,
  memoryUsage,
  parseSafetensors,
  LinearMultiheadAttention,
  MultiheadAttention,
} from 'linformer-wasm';

const MODULES = { LinearMultiheadAttention, MultiheadAttention };

// Built on the first request and kept for the life of the isolate.
let attention = null;

async function getAttention(env) {
  // Workers refuse to compile wasm at run time: init() takes both builds as
  // modules compiled at deploy time and instantiates the one the engine
  // validates (relaxed SIMD where it can).
  await init({ simd, relaxed });
  if (attention === null) {
    if (!env.MODEL) throw new Error('the MODEL binding is missing');
    const { module, embedDim, numHeads, options } = env.MODEL;
    const Module = MODULES[module];
    if (Module === undefined) throw new Error(`MODEL.module: expected one of ${Object.keys(MODULES).join(', ')}, got ${module}`);
    const built = new Module(embedDim, numHeads, options);
    if (env.WEIGHTS) built.loadStateDict(env.WEIGHTS);
    attention = built;
  }
  return attention;
}

function tensorFromJson(name, t, { mask = false } = {}) {
  if (t === undefined || t === null) {
    if (mask) return undefined;
    throw new TypeError(`${name}: missing`);
  }
  if (!Array.isArray(t.data)) throw new TypeError(`${name}.data: expected an array`);
  if (mask && t.data.length > 0 && typeof t.data[0] === 'boolean') {
    return { dims: t.dims, data: Uint8Array.from(t.data, Number) };
  }
  // JSON has no NaN: null stands for it, both ways.
  return { dims: t.dims, data: Float32Array.from(t.data, (x) => x ?? NaN) };
}

function tensorToJson(t) {
  return t && { dims: t.dims, data: Array.from(t.data) };
}

/** A .safetensors file of F32 tensors; header padded to 8 bytes as the format recommends. */
function toSafetensors(tensors) {
  const header = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.dims, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    file.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return file;
}

async function readInputs(request) {
  const type = request.headers.get('content-type') ?? '';
  if (type.startsWith('application/octet-stream')) {
    const tensors = parseSafetensors(await request.arrayBuffer());
    const get = (name) => {
      if (!tensors.has(name)) throw new TypeError(`safetensors body: no tensor named ${name}`);
      return tensors.get(name);
    };
    return { binary: true, query: get('query'), key: get('key'), value: get('value') };
  }
  let body;
  try {
    body = await request.json();
  } catch {
    throw new TypeError('body: expected JSON, or a .safetensors file sent as application/octet-stream');
  }
  return {
    binary: false,
    query: tensorFromJson('query', body.query),
    key: tensorFromJson('key', body.key),
    value: tensorFromJson('value', body.value),
    keyPaddingMask: tensorFromJson('keyPaddingMask', body.keyPaddingMask, { mask: true }),
    attnMask: tensorFromJson('attnMask', body.attnMask, { mask: true }),
  };
}

export default {
  async fetch(request, env) {
    let attn;
    try {
      attn = await getAttention(env);
    } catch (e) {
      // The deployment's fault (bindings, wasm), not the request's.
      return new Response(`${e.name}: ${e.message}\n`, { status: 500 });
    }
    try {
      if (request.method === 'GET') {
        return Response.json({ model: env.MODEL, build: backendInfo().build, memory: memoryUsage() });
      }
      if (request.method !== 'POST') return new Response('GET or POST\n', { status: 405, headers: { Allow: 'GET, POST' } });

      const params = new URL(request.url).searchParams;
      const { binary, query, key, value, keyPaddingMask, attnMask } = await readInputs(request);
      const { output, weights } = attn.forward(query, key, value, {
        keyPaddingMask,
        attnMask,
        needWeights: params.get('needWeights') === 'true',
        averageAttnWeights: params.get('averageAttnWeights') !== 'false',
      });
      const memory = memoryUsage();
      const headers = {
        'X-Wasm-Build': backendInfo().build,
        'X-Wasm-Memory-Bytes': String(memory.wasmBytes),
        'X-Wasm-Peak-Bytes': String(memory.peakBytes),
      };
      if (binary) {
        const file = toSafetensors(weights ? { output, weights } : { output });
        return new Response(file, { headers: { ...headers, 'Content-Type': 'application/octet-stream' } });
      }
      return Response.json({ output: tensorToJson(output), weights: tensorToJson(weights) }, { headers });
    } catch (e) {
      // The package's TypeError/RangeError name the bad argument of the request.
      const status = e instanceof TypeError || e instanceof RangeError ? 400 : 500;
      return new Response(`${e.name}: ${e.message}\n`, { status });
    }
  },
};
