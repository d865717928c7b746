# workerd configuration for the example worker: the DETR encoder attention
# (L = S = 850 positions, E = 256, 8 heads, Linformer with k = 64).
#
#   npm run build
#   npx workerd serve examples/worker/config.capnp
#   curl -s http://127.0.0.1:8787/          # the model, the wasm build, its memory
#
# The module list does by hand what wrangler (and wrangler.jsonc beside this
# file) does by bundling: 'linformer-wasm' resolved with the "workerd" export
# condition, the imported .wasm files as compiled modules.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "attention", worker = .attentionWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "attention")],
);

const attentionWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "linformer-wasm", esModule = embed "../../dist/index.browser.js"),
    (name = "linformer-wasm/linformer.wasm", wasm = embed "../../dist/linformer.wasm"),
    (name = "linformer-wasm/linformer-relaxed.wasm", wasm = embed "../../dist/linformer-relaxed.wasm"),
  ],
  bindings = [
    (name = "MODEL", json = "{ \"module\": \"LinearMultiheadAttention\", \"embedDim\": 256, \"numHeads\": 8, \"options\": { \"seqLen\": 850, \"projK\": 64, \"paramSharing\": \"layerwise\", \"seed\": 0 } }"),
    # Without WEIGHTS the model is initialised as torch initialises it, from
    # MODEL's seed. For trained weights, export the state_dict to safetensors
    # and add: (name = "WEIGHTS", data = embed "model.safetensors"),
  ],
  compatibilityDate = "2025-06-01",
);
