// Times one forward pass of each module on the sizes typed into the form.
import { init, backendInfo, memoryUsage, LinearMultiheadAttention, MultiheadAttention } from 'linformer-wasm';

const form = document.querySelector('form');
const button = form.querySelector('button');
const status = document.querySelector('#status');
const table = document.querySelector('#results');

function show(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

/** N(0, 1) samples (Box–Muller); what torch.randn gives a model. */
function randn(n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  return out;
}

/** Median milliseconds of `runs` calls, after one untimed warm-up call. */
function time(fn, runs) {
  fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[ms.length >> 1];
}

function run({ L, S, E, H, k, runs }) {
  const query = { data: randn(L * E), dims: [L, 1, E] };
  const key = { data: randn(S * E), dims: [S, 1, E] };
  const value = { data: randn(S * E), dims: [S, 1, E] };
  const modules = [
    [`Linformer (k = ${k})`, new LinearMultiheadAttention(E, H, { seqLen: S, projK: k })],
    ['standard attention', new MultiheadAttention(E, H)],
  ];
  const rows = [];
  try {
    for (const [name, attn] of modules) {
      let output;
      const ms = time(() => ({ output } = attn.forward(query, key, value, { needWeights: false })), runs);
      rows.push([name, `(${output.dims.join(', ')})`, `${ms.toFixed(2)} ms`, `${(memoryUsage().wasmBytes / 2 ** 20).toFixed(1)} MiB`]);
    }
  } finally {
    for (const [, attn] of modules) attn.dispose();
  }
  return rows;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const sizes = Object.fromEntries([...new FormData(form)].map(([name, v]) => [name, Number(v)]));
  button.disabled = true;
  show('running', 'Running…');
  // Let the page paint before the main thread is busy.
  await new Promise((resolve) => setTimeout(resolve, 0));
  try {
    const rows = run(sizes);
    table.tBodies[0].replaceChildren(
      ...rows.map((cells) => {
        const tr = document.createElement('tr');
        cells.forEach((text, i) => {
          const td = tr.insertCell();
          td.textContent = text;
          if (i >= 2) td.className = 'num';
        });
        return tr;
      }),
    );
    table.hidden = false;
    show('done', `L = ${sizes.L}, S = ${sizes.S}, E = ${sizes.E}, ${sizes.H} heads; median of ${sizes.runs} runs, ${backendInfo().build} build.`);
  } catch (e) {
    // Sizes the modules reject (E not divisible by H, …) come back as a message here.
    show('error', e.message);
  } finally {
    button.disabled = false;
  }
});

try {
  await init();
  show('ready', `Ready: ${backendInfo().build} build.`);
  button.disabled = false;
} catch (e) {
  show('error', e.message);
}
