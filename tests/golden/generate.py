#!/usr/bin/python3
"""Generate the golden files in tests/golden/ from PyTorch (float64 references).

Run:  /usr/bin/python3 tests/golden/generate.py      (needs torch; Debian python3-torch 1.13)

Writes mha.json, linformer.json, ops.json, safetensors.json and
linformer-{f32,f16,bf16}.safetensors next to this file. Deterministic: every
case seeds torch from a CRC32 of its name. See README.md for the format.
"""
import base64
import json
import os
import sys
import zlib

sys.dont_write_bytecode = True  # keep __pycache__ out of the tree

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import reference as ref  # noqa: E402
from export_safetensors import write_safetensors, read_safetensors  # noqa: E402

torch.set_num_threads(1)
GENERATOR = "tests/golden/generate.py"
MAX_FILE = 2 * 1024 * 1024
MAX_TOTAL = 8 * 1024 * 1024

# ---------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------

NP_DTYPE = {"f32": "<f4", "f64": "<f8", "u8": "u1"}


def enc(t, dtype):
    """A tensor as {dims, dtype, data: base64 of little-endian bytes}."""
    if t is None:
        return None
    t = t.detach().cpu()
    if dtype == "u8":
        t = t.to(torch.uint8)
    arr = np.ascontiguousarray(t.numpy().astype(NP_DTYPE[dtype]))
    return {"dims": list(t.shape), "dtype": dtype,
            "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def enc_mask(m):
    return enc(m, "u8" if m.dtype == torch.bool else "f32")


def seed_for(name):
    torch.manual_seed(zlib.crc32(name.encode("utf-8")))


def close(a, b, rtol, atol, what):
    """Elementwise |a-b| <= atol + rtol*|b|, NaN where the other is NaN."""
    if a is None or b is None:
        assert a is None and b is None, what
        return
    a, b = a.double(), b.double()
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
    na, nb = torch.isnan(a), torch.isnan(b)
    assert torch.equal(na, nb), f"{what}: NaN positions differ"
    d = (a - b).abs()[~na]
    lim = (atol + rtol * b.abs())[~na]
    if d.numel():
        worst = (d - lim).max().item()
        assert worst <= 0, f"{what}: max excess {worst:.3e} (max |diff| {d.max().item():.3e})"


# ---------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------

DEFAULTS = {"bias": True, "addBiasKV": False, "addZeroAttn": False, "kdim": None, "vdim": None,
            "batchFirst": False, "paramSharing": "none"}


def json_options(opts):
    """The package's option names; defaults omitted (seqLen/projK always given for Linformer)."""
    return {k: v for k, v in opts.items()
            if k not in ("embedDim", "numHeads") and (k not in DEFAULTS or DEFAULTS[k] != v)}


def small_bias(n):
    return torch.randn(n) * 0.1


def make_mha_state(opts):
    m = torch.nn.MultiheadAttention(
        opts["embedDim"], opts["numHeads"], bias=opts.get("bias", True),
        add_bias_kv=opts.get("addBiasKV", False), add_zero_attn=opts.get("addZeroAttn", False),
        kdim=opts.get("kdim"), vdim=opts.get("vdim"), batch_first=opts.get("batchFirst", False))
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    if opts.get("bias", True):   # torch inits these to zero; make the bias paths count
        sd["in_proj_bias"] = small_bias(3 * opts["embedDim"])
        sd["out_proj.bias"] = small_bias(opts["embedDim"])
    return sd


def xavier_uniform(*shape):
    return torch.nn.init.xavier_uniform_(torch.empty(*shape))


def make_linformer_state(opts, own_e=True, include_f=False):
    """Initialised as torch does (xavier-uniform in-proj and E/F, xavier-normal bias_*,
    out_proj as torch Linear), then in/out biases randn*0.1 so they are exercised."""
    E, H = opts["embedDim"], opts["numHeads"]
    kdim, vdim = opts.get("kdim") or E, opts.get("vdim") or E
    kk, n = opts["projK"], opts["seqLen"]
    sharing = opts.get("paramSharing", "none")
    bias = opts.get("bias", True)
    sd = {}
    if kdim == E and vdim == E:
        sd["in_proj_weight"] = xavier_uniform(3 * E, E)
    else:
        sd["q_proj_weight"] = xavier_uniform(E, E)
        sd["k_proj_weight"] = xavier_uniform(E, kdim)
        sd["v_proj_weight"] = xavier_uniform(E, vdim)
    if own_e:
        if sharing == "per-head":
            sd["e_proj_weight"] = torch.stack([xavier_uniform(kk, n) for _ in range(H)])
            sd["f_proj_weight"] = torch.stack([xavier_uniform(kk, n) for _ in range(H)])
        else:
            sd["e_proj_weight"] = xavier_uniform(kk, n)
            if sharing == "none":
                sd["f_proj_weight"] = xavier_uniform(kk, n)
            elif include_f:
                sd["f_proj_weight"] = sd["e_proj_weight"].clone()
    if bias:
        sd["in_proj_bias"] = small_bias(3 * E)
    lin = torch.nn.Linear(E, E, bias=bias)
    sd["out_proj.weight"] = lin.weight.detach().clone()
    if bias:
        sd["out_proj.bias"] = small_bias(E)
    if opts.get("addBiasKV", False):
        sd["bias_k"] = torch.nn.init.xavier_normal_(torch.empty(1, 1, E))
        sd["bias_v"] = torch.nn.init.xavier_normal_(torch.empty(1, 1, E))
    sd["bias_e"] = torch.nn.init.xavier_normal_(torch.empty(1, 1, kk))
    sd["bias_f"] = torch.nn.init.xavier_normal_(torch.empty(1, 1, kk))
    return sd


def MHA(E, H, **options):
    return {"ctor": "MultiheadAttention", "opts": dict(embedDim=E, numHeads=H, **options)}


def LIN(E, H, seqLen, projK, shareWith=None, includeF=False, **options):
    return {"ctor": "LinearMultiheadAttention", "shareWith": shareWith, "includeF": includeF,
            "opts": dict(embedDim=E, numHeads=H, seqLen=seqLen, projK=projK, **options)}


def C(L, S, N, module=0, kpm=None, attn=None, needWeights=True, average=True, selfAttn=False):
    return dict(module=module, L=L, S=S, N=N, kpm=kpm, attn=attn, needWeights=needWeights,
                average=average, selfAttn=selfAttn)


# ---------------------------------------------------------------------------
# masks
# ---------------------------------------------------------------------------

def keep_one_per_row(masked):
    """Unmask one random position in every last-axis row (so no row is fully masked)."""
    rows = masked.reshape(-1, masked.shape[-1]).clone()
    idx = torch.randint(0, rows.shape[1], (rows.shape[0],))
    rows[torch.arange(rows.shape[0]), idx] = False
    return rows.reshape(masked.shape)


def make_mask(kind, shape, p=0.3):
    """kind 'bool' (True = masked out) or 'float' (N(0,1) with some -inf)."""
    masked = keep_one_per_row(torch.rand(shape) < p)
    if kind == "bool":
        return masked
    return torch.randn(shape).masked_fill(masked, float("-inf"))


def fill_masked(m, index):
    """Mask every element m[index] completely (bool True / float -inf)."""
    m = m.clone()
    m[index] = True if m.dtype == torch.bool else float("-inf")
    return m


def make_kpm(spec, N, S):
    kind, *mods = spec.split("+")
    shape = (S,) if N is None else (N, S)
    m = make_mask(kind, shape)
    for mod in mods:
        if mod == "fullbatch":     # one batch item (or the whole unbatched input) fully masked
            m = fill_masked(m, Ellipsis if N is None else min(1, N - 1))
        elif mod == "all":
            m = fill_masked(m, Ellipsis)
        else:
            raise ValueError(mod)
    return m


def make_attn(spec, N, H, L, width):
    """spec 'bool-2d' | 'float-3d' [+k1 (one more column)] [+fullrow (row L//2 fully masked)]."""
    base, *mods = spec.split("+")
    kind, nd = base.split("-")
    if "k1" in mods:
        width += 1
    lead = () if nd == "2d" else ((H,) if N is None else (N * H,))
    m = make_mask(kind, lead + (L, width))
    if "fullrow" in mods:
        m = fill_masked(m, (Ellipsis, L // 2, slice(None)))
    return m


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------

CHECKS = {"mha-torch-vs-direct": 0, "mha-f32-torch": 0, "seed": 0, "f32-conditioning": 0}


def input_shape(opts, L, N, feat):
    if N is None:
        return (L, feat)
    return (N, L, feat) if opts.get("batchFirst") else (L, N, feat)


def run_call(mod, sd32, shared_e32, call):
    opts = mod["opts"]
    E, H = opts["embedDim"], opts["numHeads"]
    kdim, vdim = opts.get("kdim") or E, opts.get("vdim") or E
    L, S, N = call["L"], call["S"], call["N"]
    query = torch.randn(input_shape(opts, L, N, E))
    if call["selfAttn"]:
        assert L == S and kdim == E and vdim == E
        key, value = query.clone(), query.clone()
    else:
        key = torch.randn(input_shape(opts, S, N, kdim))
        value = torch.randn(input_shape(opts, S, N, vdim))
    linf = mod["ctor"] == "LinearMultiheadAttention"
    kpm = make_kpm(call["kpm"], N, S) if call["kpm"] else None
    width = opts["projK"] if linf else S
    attn = make_attn(call["attn"], N, H, L, width) if call["attn"] else None
    nw, avg = call["needWeights"], call["average"]

    def f64(t):
        return None if t is None else (t if t.dtype == torch.bool else t.double())

    sd64 = {k: v.double() for k, v in sd32.items()}
    args = (f64(query), f64(key), f64(value))
    kw = dict(key_padding_mask=f64(kpm), attn_mask=f64(attn), need_weights=nw, average_attn_weights=avg)
    if linf:
        se64 = None if shared_e32 is None else shared_e32.double()
        out, w = ref.linformer(opts, sd64, *args, shared_e=se64, **kw)
        o32, w32 = ref.linformer(opts, sd32, query, key, value,
                                 shared_e=shared_e32, **dict(kw, key_padding_mask=kpm, attn_mask=attn))
        # the seed module, reshape fixed, where the seed runs at all
        sharing = opts.get("paramSharing", "none")
        S_tot = S + (1 if opts.get("addBiasKV") else 0)
        if (S_tot == opts["seqLen"] and kpm is None and attn is None and not opts.get("addZeroAttn")
                and sharing != "per-head" and shared_e32 is None and N is not None
                and not opts.get("batchFirst")):
            so, sw = ref.seed_linformer(opts, sd64, *args)
            close(so, out, 0, 1e-12, "seed output")
            if nw and avg:
                close(sw, w, 0, 1e-12, "seed weights")
            CHECKS["seed"] += 1
    else:
        out, w = ref.mha_torch(opts, sd64, *args, **kw)
        do, dw = ref.mha_direct(opts, sd64, *args, **kw)
        close(do, out, 1e-10, 1e-12, "mha direct output")
        close(dw, w, 1e-10, 1e-12, "mha direct weights")
        CHECKS["mha-torch-vs-direct"] += 1
        # torch's float32 module (masks merged by the 2.x rule where 1.13 differs)
        m32 = torch.nn.MultiheadAttention(
            E, H, bias=opts.get("bias", True), add_bias_kv=opts.get("addBiasKV", False),
            add_zero_attn=opts.get("addZeroAttn", False), kdim=opts.get("kdim"),
            vdim=opts.get("vdim"), batch_first=opts.get("batchFirst", False)).eval()
        m32.load_state_dict(sd32)
        batched = N is not None
        k2, a2 = ref.merge_masks_2x(kpm, attn, H, batched, N if batched else 1)
        if a2 is not None and a2.dtype != torch.bool:
            a2 = a2.float()
        with torch.no_grad():
            o32, w32 = m32(query.clone(), key.clone(), value.clone(), key_padding_mask=k2,
                           need_weights=nw, attn_mask=a2, average_attn_weights=avg)
        CHECKS["mha-f32-torch"] += 1
    # The package's tolerance (docs/semantics.md): a float32 computation must land within it
    close(o32, out, 1e-4, 1e-5, "float32 output")
    close(w32, w, 1e-4, 1e-5, "float32 weights")
    CHECKS["f32-conditioning"] += 1
    fo = {"needWeights": nw, "averageAttnWeights": avg}
    if kpm is not None:
        fo["keyPaddingMask"] = enc_mask(kpm)
    if attn is not None:
        fo["attnMask"] = enc_mask(attn)
    return {"module": call["module"], "query": enc(query, "f32"), "key": enc(key, "f32"),
            "value": enc(value, "f32"), "forwardOptions": fo,
            "expected": {"output": enc(out, "f64"), "weights": enc(w, "f64") if nw else None}}


def build_case(name, modules, calls):
    seed_for(name)
    states, mods_json = [], []
    for i, mod in enumerate(modules):
        opts = mod["opts"]
        share = mod.get("shareWith")
        if mod["ctor"] == "MultiheadAttention":
            sd = make_mha_state(opts)
        else:
            sd = make_linformer_state(opts, own_e=share is None, include_f=mod.get("includeF", False))
        states.append(sd)
        mods_json.append({"ctor": mod["ctor"], "embedDim": opts["embedDim"], "numHeads": opts["numHeads"],
                          "options": json_options(opts), "shareWith": share,
                          "stateDict": {k: enc(v, "f32") for k, v in sd.items()}})
    calls_json = []
    for call in calls:
        mi = call["module"]
        share = modules[mi].get("shareWith")
        shared_e = None if share is None else states[share]["e_proj_weight"]
        calls_json.append(run_call(modules[mi], states[mi], shared_e, call))
    return {"name": name, "modules": mods_json, "calls": calls_json}


def mha_cases():
    c = []
    add = lambda name, mod, *calls: c.append((name, [mod], list(calls)))  # noqa: E731
    add("mha/basic-E16-H4-N1-L5-S7", MHA(16, 4), C(5, 7, 1))
    add("mha/self-attention-E16-H4-N3-L6", MHA(16, 4), C(6, 6, 3, selfAttn=True))
    add("mha/unbatched-E12-H3-L4-S9", MHA(12, 3), C(4, 9, None))
    add("mha/batchFirst-E16-H2-N3-L5-S6", MHA(16, 2, batchFirst=True), C(5, 6, 3))
    add("mha/batchFirst-unbatched-ignored", MHA(16, 4, batchFirst=True), C(3, 5, None))
    add("mha/batchFirst+keyPaddingMask-bool+attnMask-float-3d", MHA(8, 2, batchFirst=True),
        C(4, 6, 3, kpm="bool", attn="float-3d"))
    add("mha/kdim10-vdim6-E16-H4-N3", MHA(16, 4, kdim=10, vdim=6), C(4, 7, 3))
    add("mha/kdim7-vdim20-E12-H3-unbatched", MHA(12, 3, kdim=7, vdim=20), C(5, 3, None))
    add("mha/kdim-only-E16-H4", MHA(16, 4, kdim=9), C(3, 4, 2))
    add("mha/bias-false-N3", MHA(16, 4, bias=False), C(5, 6, 3))
    add("mha/bias-false+kdim5-vdim3-E8-H2", MHA(8, 2, bias=False, kdim=5, vdim=3), C(3, 4, 2))
    add("mha/addBiasKV-N3", MHA(16, 4, addBiasKV=True), C(5, 7, 3))
    add("mha/addZeroAttn-N3", MHA(16, 4, addZeroAttn=True), C(5, 7, 3))
    add("mha/addBiasKV+addZeroAttn-N3", MHA(16, 4, addBiasKV=True, addZeroAttn=True), C(5, 7, 3))
    add("mha/addBiasKV+addZeroAttn-unbatched", MHA(12, 3, addBiasKV=True, addZeroAttn=True), C(4, 6, None))
    add("mha/keyPaddingMask-bool-N3", MHA(16, 4), C(5, 8, 3, kpm="bool"))
    add("mha/keyPaddingMask-float-N3", MHA(16, 4), C(5, 8, 3, kpm="float"))
    add("mha/attnMask-bool-2d-N3", MHA(16, 4), C(5, 8, 3, attn="bool-2d"))
    add("mha/attnMask-float-2d-N3", MHA(16, 4), C(5, 8, 3, attn="float-2d"))
    add("mha/attnMask-bool-3d-N3", MHA(16, 4), C(5, 8, 3, attn="bool-3d"))
    add("mha/attnMask-float-3d-N3", MHA(16, 4), C(5, 8, 3, attn="float-3d"))
    add("mha/attnMask-bool-3d-N1", MHA(8, 2), C(4, 5, 1, attn="bool-3d"))
    add("mha/keyPaddingMask-bool+attnMask-bool-2d", MHA(16, 4), C(5, 8, 3, kpm="bool", attn="bool-2d"))
    add("mha/keyPaddingMask-bool+attnMask-float-3d", MHA(16, 4), C(5, 8, 3, kpm="bool", attn="float-3d"))
    add("mha/keyPaddingMask-float+attnMask-float-2d", MHA(16, 4), C(5, 8, 3, kpm="float", attn="float-2d"))
    add("mha/keyPaddingMask-float+attnMask-float-3d", MHA(16, 4), C(5, 8, 3, kpm="float", attn="float-3d"))
    add("mha/keyPaddingMask-float+attnMask-bool-2d", MHA(16, 4), C(5, 8, 3, kpm="float", attn="bool-2d"))
    add("mha/keyPaddingMask-bool+attnMask-bool-3d", MHA(16, 4), C(5, 8, 3, kpm="bool", attn="bool-3d"))
    add("mha/unbatched+keyPaddingMask-bool+attnMask-float-3d", MHA(12, 3), C(4, 7, None, kpm="bool", attn="float-3d"))
    add("mha/unbatched+keyPaddingMask-float+attnMask-float-2d", MHA(12, 3), C(4, 7, None, kpm="float", attn="float-2d"))
    add("mha/unbatched+attnMask-bool-3d", MHA(16, 4), C(3, 5, None, attn="bool-3d"))
    add("mha/addBiasKV+keyPaddingMask-bool", MHA(16, 4, addBiasKV=True), C(5, 7, 3, kpm="bool"))
    add("mha/addBiasKV+attnMask-float-3d", MHA(16, 4, addBiasKV=True), C(5, 7, 3, attn="float-3d"))
    add("mha/addZeroAttn+keyPaddingMask-bool+attnMask-bool-2d", MHA(16, 4, addZeroAttn=True),
        C(5, 7, 3, kpm="bool", attn="bool-2d"))
    add("mha/addBiasKV+addZeroAttn+keyPaddingMask-float+attnMask-float-3d",
        MHA(16, 4, addBiasKV=True, addZeroAttn=True), C(5, 7, 3, kpm="float", attn="float-3d"))
    add("mha/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-bool-3d-unbatched",
        MHA(12, 3, addBiasKV=True, addZeroAttn=True), C(4, 6, None, kpm="bool", attn="bool-3d"))
    add("mha/fully-masked-row-attnMask-bool-2d-NaN", MHA(16, 4), C(5, 6, 3, attn="bool-2d+fullrow"))
    add("mha/fully-masked-row-attnMask-float-3d-NaN+needWeights-false", MHA(16, 4),
        C(5, 6, 2, attn="float-3d+fullrow", needWeights=False))
    add("mha/fully-masked-batch-keyPaddingMask-bool-NaN", MHA(16, 4), C(4, 6, 3, kpm="bool+fullbatch"))
    add("mha/fully-masked-keyPaddingMask-float-unbatched-NaN", MHA(8, 2), C(3, 4, None, kpm="float+all"))
    add("mha/addBiasKV+fully-masked-row-attnMask-bool-2d", MHA(16, 4, addBiasKV=True),
        C(5, 6, 3, attn="bool-2d+fullrow"))
    add("mha/addZeroAttn+fully-masked-batch-keyPaddingMask-bool", MHA(16, 4, addZeroAttn=True),
        C(4, 6, 3, kpm="bool+fullbatch"))
    add("mha/needWeights-false-N3", MHA(16, 4), C(5, 7, 3, needWeights=False))
    add("mha/averageAttnWeights-false-N3", MHA(16, 4), C(5, 7, 3, average=False))
    add("mha/averageAttnWeights-false+addBiasKV+addZeroAttn-unbatched",
        MHA(12, 3, addBiasKV=True, addZeroAttn=True), C(4, 5, None, average=False))
    add("mha/needWeights-false+averageAttnWeights-false", MHA(16, 4), C(3, 4, 2, needWeights=False, average=False))
    add("mha/head-dim-1-E5-H5", MHA(5, 5), C(4, 6, 2))
    add("mha/head-dim-1-E4-H4+attnMask-float-2d", MHA(4, 4), C(3, 5, 3, attn="float-2d"))
    add("mha/head-dim-8-E16-H2", MHA(16, 2), C(5, 9, 2))
    add("mha/head-dim-16-E16-H1", MHA(16, 1), C(6, 5, 2))
    add("mha/head-dim-16-E32-H2", MHA(32, 2), C(9, 17, 2))
    add("mha/E12-H3-N3", MHA(12, 3), C(7, 5, 3))
    add("mha/E20-H5-N3", MHA(20, 5), C(5, 11, 3))
    add("mha/E36-H4-head-dim-9", MHA(36, 4), C(5, 7, 2, kpm="bool"))
    add("mha/E6-H2-head-dim-3-L1-S1", MHA(6, 2), C(1, 1, 2))
    add("mha/L24-S17-E16-H4", MHA(16, 4), C(24, 17, 2, attn="float-2d"))
    add("mha/two-calls-S3-then-S11", MHA(16, 4), C(4, 3, 2), C(6, 11, 2, kpm="bool"))
    add("mha/medium-E64-H8-L128-S128-N1", MHA(64, 8), C(128, 128, 1, selfAttn=True))
    return c


def linformer_cases():
    c = []
    add = lambda name, mods, *calls: c.append((name, mods if isinstance(mods, list) else [mods], list(calls)))  # noqa: E731
    add("linformer/basic-S=seqLen-E16-H4-N1", LIN(16, 4, 8, 4), C(5, 8, 1))
    add("linformer/S=seqLen-N3", LIN(16, 4, 8, 4), C(5, 8, 3))
    add("linformer/S<seqLen-N3", LIN(16, 4, 12, 6), C(5, 7, 3))
    add("linformer/self-attention-S=seqLen-N2", LIN(16, 4, 10, 5), C(10, 10, 2, selfAttn=True))
    add("linformer/unbatched-S<seqLen", LIN(12, 3, 10, 4), C(4, 9, None))
    add("linformer/unbatched-S=seqLen", LIN(16, 4, 6, 3), C(3, 6, None))
    add("linformer/unbatched+keyPaddingMask-bool+attnMask-bool-3d", LIN(12, 3, 10, 4),
        C(4, 8, None, kpm="bool", attn="bool-3d"))
    add("linformer/batchFirst-N3", LIN(16, 4, 12, 6, batchFirst=True), C(5, 9, 3))
    add("linformer/batchFirst-unbatched-ignored", LIN(16, 4, 12, 6, batchFirst=True), C(5, 9, None))
    add("linformer/kdim10-vdim6-N3", LIN(16, 4, 12, 6, kdim=10, vdim=6), C(5, 12, 3))
    add("linformer/kdim7-vdim20-E12-H3-unbatched", LIN(12, 3, 8, 5, kdim=7, vdim=20), C(4, 6, None))
    add("linformer/bias-false-N3", LIN(16, 4, 12, 6, bias=False), C(5, 12, 3))
    add("linformer/bias-false+kdim5-vdim3-S<seqLen", LIN(8, 2, 12, 6, bias=False, kdim=5, vdim=3), C(3, 7, 2))
    add("linformer/addBiasKV-S+1<seqLen-N3", LIN(16, 4, 12, 6, addBiasKV=True), C(5, 8, 3))
    add("linformer/addBiasKV-S+1=seqLen-N3", LIN(16, 4, 12, 6, addBiasKV=True), C(5, 11, 3))
    add("linformer/addZeroAttn-N3", LIN(16, 4, 12, 6, addZeroAttn=True), C(5, 12, 3))
    add("linformer/addBiasKV+addZeroAttn-N3", LIN(16, 4, 12, 6, addBiasKV=True, addZeroAttn=True), C(5, 9, 3))
    add("linformer/keyPaddingMask-bool-N3", LIN(16, 4, 12, 6), C(5, 10, 3, kpm="bool"))
    add("linformer/keyPaddingMask-bool-S=seqLen-N1", LIN(16, 4, 8, 4), C(5, 8, 1, kpm="bool"))
    add("linformer/keyPaddingMask-bool-all-masked", LIN(16, 4, 12, 6), C(4, 7, 2, kpm="bool+all"))
    add("linformer/addBiasKV+keyPaddingMask-bool", LIN(16, 4, 12, 6, addBiasKV=True), C(5, 9, 3, kpm="bool"))
    add("linformer/addBiasKV+keyPaddingMask-bool-fullbatch", LIN(16, 4, 12, 6, addBiasKV=True),
        C(5, 9, 3, kpm="bool+fullbatch"))
    add("linformer/attnMask-bool-2d-N3", LIN(16, 4, 12, 6), C(5, 10, 3, attn="bool-2d"))
    add("linformer/attnMask-float-2d-N3", LIN(16, 4, 12, 6), C(5, 10, 3, attn="float-2d"))
    add("linformer/attnMask-bool-3d-N3", LIN(16, 4, 12, 6), C(5, 10, 3, attn="bool-3d"))
    add("linformer/attnMask-float-3d-N3", LIN(16, 4, 12, 6), C(5, 10, 3, attn="float-3d"))
    add("linformer/keyPaddingMask-bool+attnMask-float-3d", LIN(16, 4, 12, 6), C(5, 10, 3, kpm="bool", attn="float-3d"))
    add("linformer/addZeroAttn+attnMask-bool-2d-k", LIN(16, 4, 12, 6, addZeroAttn=True), C(5, 10, 3, attn="bool-2d"))
    add("linformer/addZeroAttn+attnMask-float-3d-k", LIN(16, 4, 12, 6, addZeroAttn=True), C(5, 10, 3, attn="float-3d"))
    add("linformer/addZeroAttn+attnMask-bool-2d-k+1", LIN(16, 4, 12, 6, addZeroAttn=True), C(5, 10, 3, attn="bool-2d+k1"))
    add("linformer/addZeroAttn+attnMask-float-3d-k+1", LIN(16, 4, 12, 6, addZeroAttn=True), C(5, 10, 3, attn="float-3d+k1"))
    add("linformer/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-float-2d",
        LIN(16, 4, 12, 6, addBiasKV=True, addZeroAttn=True), C(5, 9, 3, kpm="bool", attn="float-2d"))
    add("linformer/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-bool-3d-unbatched",
        LIN(12, 3, 10, 4, addBiasKV=True, addZeroAttn=True), C(4, 7, None, kpm="bool", attn="bool-3d"))
    add("linformer/fully-masked-row-attnMask-bool-2d-NaN", LIN(16, 4, 12, 6), C(5, 10, 3, attn="bool-2d+fullrow"))
    add("linformer/fully-masked-row-attnMask-float-3d-NaN+needWeights-false", LIN(16, 4, 12, 6),
        C(5, 10, 2, attn="float-3d+fullrow", needWeights=False))
    add("linformer/addZeroAttn+fully-masked-row-attnMask-bool-2d-k", LIN(16, 4, 12, 6, addZeroAttn=True),
        C(5, 10, 3, attn="bool-2d+fullrow"))
    add("linformer/needWeights-false-N3", LIN(16, 4, 12, 6), C(5, 10, 3, needWeights=False))
    add("linformer/averageAttnWeights-false-N3", LIN(16, 4, 12, 6), C(5, 10, 3, average=False))
    add("linformer/averageAttnWeights-false+addZeroAttn-unbatched", LIN(12, 3, 10, 4, addZeroAttn=True),
        C(4, 7, None, average=False))
    # parameter sharing
    add("linformer/paramSharing-layerwise-without-f-S=seqLen", LIN(16, 4, 10, 5, paramSharing="layerwise"), C(5, 10, 3))
    add("linformer/paramSharing-layerwise-with-f", LIN(16, 4, 10, 5, paramSharing="layerwise", includeF=True),
        C(5, 7, 3, kpm="bool"))
    add("linformer/paramSharing-kv-without-f", LIN(16, 4, 10, 5, paramSharing="kv"), C(5, 8, 3, attn="float-2d"))
    add("linformer/paramSharing-kv-with-f-S=seqLen", LIN(16, 4, 10, 5, paramSharing="kv", includeF=True), C(5, 10, 3))
    add("linformer/paramSharing-layerwise-shareWith",
        [LIN(16, 4, 10, 5, paramSharing="layerwise"),
         LIN(16, 4, 10, 5, paramSharing="layerwise", shareWith=0)],
        C(5, 10, 2, module=0), C(5, 7, 2, module=1, kpm="bool"))
    add("linformer/paramSharing-layerwise-shareWith-owner-with-f+three-modules",
        [LIN(12, 3, 8, 4, paramSharing="layerwise", includeF=True),
         LIN(12, 3, 8, 4, paramSharing="layerwise", shareWith=0, addBiasKV=True),
         LIN(12, 3, 8, 4, paramSharing="layerwise", shareWith=0, bias=False, addZeroAttn=True)],
        C(4, 8, 2, module=0), C(4, 6, 2, module=1, attn="bool-2d"), C(4, 8, None, module=2),
        C(3, 5, 2, module=1))
    add("linformer/paramSharing-per-head-S=seqLen-N3", LIN(16, 4, 8, 4, paramSharing="per-head"), C(5, 8, 3))
    add("linformer/paramSharing-per-head-S<seqLen+keyPaddingMask-bool+attnMask-float-3d",
        LIN(16, 4, 12, 6, paramSharing="per-head"), C(5, 9, 3, kpm="bool", attn="float-3d"))
    add("linformer/paramSharing-per-head-unbatched", LIN(12, 3, 10, 4, paramSharing="per-head"), C(4, 7, None))
    add("linformer/paramSharing-per-head+addBiasKV+addZeroAttn",
        LIN(16, 2, 12, 5, paramSharing="per-head", addBiasKV=True, addZeroAttn=True), C(5, 9, 3, average=False))
    add("linformer/paramSharing-per-head+kdim-vdim+batchFirst",
        LIN(20, 5, 10, 4, paramSharing="per-head", kdim=6, vdim=9, batchFirst=True), C(4, 10, 2))
    # head dims, sizes
    add("linformer/head-dim-1-E5-H5", LIN(5, 5, 10, 4), C(4, 8, 2))
    add("linformer/head-dim-8-E16-H2", LIN(16, 2, 12, 6), C(5, 12, 2))
    add("linformer/head-dim-16-E16-H1", LIN(16, 1, 12, 6), C(5, 9, 2))
    add("linformer/head-dim-16-E32-H2", LIN(32, 2, 24, 8), C(9, 20, 2))
    add("linformer/E12-H3-N3", LIN(12, 3, 12, 5), C(6, 11, 3))
    add("linformer/E20-H5-N3", LIN(20, 5, 16, 7), C(5, 13, 3))
    add("linformer/E36-H4-head-dim-9", LIN(36, 4, 12, 3), C(5, 12, 2, kpm="bool"))
    add("linformer/projK-1", LIN(16, 4, 8, 1), C(4, 6, 2))
    add("linformer/projK>S", LIN(16, 4, 24, 16), C(4, 5, 2, attn="bool-2d"))
    add("linformer/L1-S1", LIN(8, 2, 4, 2), C(1, 1, 2))
    add("linformer/L24-S24-seqLen24", LIN(16, 4, 24, 8), C(24, 24, 2, selfAttn=True))
    add("linformer/two-calls-S5-then-S=seqLen", LIN(16, 4, 12, 6), C(4, 5, 2), C(6, 12, 2, kpm="bool"))
    add("linformer/medium-E64-H8-L128-S128-seqLen128-k32-N1", LIN(64, 8, 128, 32), C(128, 128, 1, selfAttn=True))
    add("linformer/medium-per-head-E64-H4-L64-S96-seqLen112-k16-N1+keyPaddingMask-bool",
        LIN(64, 4, 112, 16, paramSharing="per-head"), C(64, 96, 1, kpm="bool"))
    return c


# ---------------------------------------------------------------------------
# ops
# ---------------------------------------------------------------------------

def ops_cases():
    cases = []
    sizes = [1, 3, 4, 5, 8, 9, 17, 33]

    def mm(M, N, K, tb):
        name = f"matmul/M{M}-K{K}-N{N}" + ("-transposeB" if tb else "")
        if any(c["name"] == name for c in cases):
            return
        seed_for(name)
        a = torch.randn(M, K)
        b = torch.randn(N, K) if tb else torch.randn(K, N)
        bb = b.double().t() if tb else b.double()
        cases.append({"name": name, "op": "matmul",
                      "inputs": {"a": enc(a, "f32"), "b": enc(b, "f32"), "transposeB": tb},
                      "expected": enc(a.double() @ bb, "f64")})

    for i, M in enumerate(sizes):
        for j, N in enumerate(sizes):
            mm(M, N, sizes[(i + 2 * j) % 8], (i + j) % 2 == 1)
    for tb in (False, True):
        mm(33, 33, 33, tb)
        mm(1, 1, 1, tb)
        mm(17, 9, 33, tb)
        mm(4, 8, 64, tb)

    def lin(name, xshape, out_f, bias):
        name = "linear/" + name
        seed_for(name)
        x = torch.randn(*xshape)
        w = torch.randn(out_f, xshape[-1])
        b = torch.randn(out_f) if bias else None
        inputs = {"x": enc(x, "f32"), "weight": enc(w, "f32")}
        if bias:
            inputs["bias"] = enc(b, "f32")
        exp = F.linear(x.double(), w.double(), None if b is None else b.double())
        cases.append({"name": name, "op": "linear", "inputs": inputs, "expected": enc(exp, "f64")})

    lin("1d-in5-out7-bias", (5,), 7, True)
    lin("1d-in8-out3-nobias", (8,), 3, False)
    lin("2d-B4-in12-out9-nobias", (4, 12), 9, False)
    lin("2d-B5-in17-out33-bias", (5, 17), 33, True)
    lin("2d-B1-in1-out4-bias", (1, 1), 4, True)
    lin("3d-2x3-in16-out8-bias", (2, 3, 16), 8, True)
    lin("3d-3x5-in9-out5-nobias", (3, 5, 9), 5, False)
    lin("3d-1x1-in33-out17-bias", (1, 1, 33), 17, True)

    def sm(name, x):
        cases.append({"name": "softmax/" + name, "op": "softmax", "inputs": {"x": enc(x, "f32")},
                      "expected": enc(torch.softmax(x.double(), dim=-1), "f64")})

    inf = float("inf")
    seed_for("softmax")
    sm("1d-len7", torch.randn(7))
    sm("1d-len1", torch.randn(1))
    sm("2d-3x33", torch.randn(3, 33))
    sm("2d-large-logits-pm100", torch.tensor([[100.0, -100.0, 99.5, 0.0, 100.0],
                                              [-100.0, -99.0, -100.0, -98.0, -100.0],
                                              [88.0, 90.0, -90.0, 89.0, 87.0]]))
    x = torch.randn(2, 3, 17) * 10
    x[0, 1, ::3] = -inf
    x[1, 2, 5] = -inf
    sm("3d-2x3x17-with-neg-inf", x)
    x = torch.randn(4, 9)
    x[2, :] = -inf
    sm("2d-4x9-fully-neg-inf-row-NaN", x)
    x = torch.randn(3, 6)
    x[1, 4] = float("nan")
    sm("2d-3x6-NaN-entry", x)
    x = torch.randn(2, 2, 8)
    x[0, 0, :] = -inf
    x[1, 1, 3] = float("nan")
    x[1, 0, 7] = 100.0
    sm("3d-2x2x8-neg-inf-row+NaN", x)
    sm("2d-5x8-equal-values", torch.full((5, 8), 3.25))
    sm("3d-1x1x1", torch.randn(1, 1, 1))
    # 0-d: torch takes a scalar as one row of one value: 1, or NaN if not finite.
    for name, v in [("0d-2.5", 2.5), ("0d-inf", inf), ("0d-neg-inf", -inf), ("0d-NaN", float("nan"))]:
        sm(name, torch.tensor(v))
    return cases


# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

ST_DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def safetensors_cases():
    name = "safetensors/linformer"
    seed_for(name)
    mod = LIN(16, 4, 10, 5, addBiasKV=True)
    sd = make_linformer_state(mod["opts"])
    call = C(4, 7, 2, kpm="bool")
    cases = []
    for dt, tdt in ST_DTYPES.items():
        fname = f"linformer-{dt}.safetensors"
        path = os.path.join(HERE, fname)
        write_safetensors(path, sd, dt, {"format": "pt", "generator": GENERATOR})
        back, _ = read_safetensors(path)
        rounded = {k: v.to(tdt).float() for k, v in sd.items()}
        assert set(back) == set(sd)
        for k in sd:
            assert torch.equal(back[k], rounded[k]), f"{fname}: {k} does not read back"
        seed_for(name + "/call")  # the same inputs for all three dtypes
        callj = run_call(mod, rounded, None, call)
        cases.append({"name": f"safetensors/linformer-{dt}", "modules": [
            {"ctor": mod["ctor"], "embedDim": 16, "numHeads": 4, "options": json_options(mod["opts"]),
             "shareWith": None, "stateDictFile": fname}], "calls": [callj]})
    return cases


# ---------------------------------------------------------------------------
# self-tests of the references
# ---------------------------------------------------------------------------

def self_tests():
    """Linformer with E = F = identity (k = S, zero bias_e/f) is standard attention."""
    for name, E, H, N, L, S, extra, per_head in [
            ("plain", 16, 4, 3, 5, 7, {}, False),
            ("biaskv+zeroattn", 12, 3, 2, 4, 6, {"addBiasKV": True, "addZeroAttn": True}, False),
            ("kdim", 16, 4, 2, 3, 5, {"kdim": 7, "vdim": 5}, False),
            ("per-head", 16, 4, 3, 5, 7, {"addZeroAttn": True}, True)]:
        seed_for("selftest/" + name)
        st = S + (1 if extra.get("addBiasKV") else 0)
        mopts = dict(embedDim=E, numHeads=H, **extra)
        sd = {k: v.double() for k, v in make_mha_state(mopts).items()}
        lopts = dict(mopts, seqLen=st, projK=st, paramSharing="per-head" if per_head else "none")
        eye = torch.eye(st, dtype=torch.float64)
        lsd = dict(sd, e_proj_weight=eye.expand(H, st, st) if per_head else eye,
                   f_proj_weight=eye.expand(H, st, st) if per_head else eye,
                   bias_e=torch.zeros(1, 1, st, dtype=torch.float64),
                   bias_f=torch.zeros(1, 1, st, dtype=torch.float64))
        q = torch.randn(L, N, E, dtype=torch.float64)
        k = torch.randn(S, N, extra.get("kdim", E), dtype=torch.float64)
        v = torch.randn(S, N, extra.get("vdim", E), dtype=torch.float64)
        o1, w1 = ref.mha_torch(mopts, sd, q, k, v, average_attn_weights=False)
        o2, w2 = ref.linformer(lopts, lsd, q, k, v, average_attn_weights=False)
        close(o2, o1, 0, 1e-12, f"selftest {name} output")
        close(w2, w1, 0, 1e-12, f"selftest {name} weights")
    # the seed's own reshape (unfixed) is wrong: it must differ from the reference
    seed_for("selftest/seed-unfixed")
    opts = dict(embedDim=16, numHeads=4, seqLen=8, projK=4)
    sd = {k: v.double() for k, v in make_linformer_state(opts).items()}
    q, k = torch.randn(5, 2, 16, dtype=torch.float64), torch.randn(8, 2, 16, dtype=torch.float64)
    o_ref, _ = ref.linformer(opts, sd, q, k, k)
    o_fix, _ = ref.seed_linformer(opts, sd, q, k, k, fix_reshape=True)
    o_bad, _ = ref.seed_linformer(opts, sd, q, k, k, fix_reshape=False)
    close(o_fix, o_ref, 0, 1e-12, "seed fixed")
    assert (o_bad - o_ref).abs().max() > 1e-3, "unfixed seed should differ"


# ---------------------------------------------------------------------------

def write_json(fname, cases):
    # one case per line: compact, and diffs stay readable
    head = json.dumps({"generator": GENERATOR, "torch": torch.__version__})[:-1]
    body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases)
    text = head + ', "cases": [\n' + body + "\n]}\n"
    json.loads(text)
    with open(os.path.join(HERE, fname), "w") as f:
        f.write(text)
    return len(text.encode("utf-8"))


def main():
    self_tests()
    sizes = {}
    sizes["mha.json"] = write_json("mha.json", [build_case(n, m, c) for n, m, c in mha_cases()])
    sizes["linformer.json"] = write_json("linformer.json", [build_case(n, m, c) for n, m, c in linformer_cases()])
    sizes["ops.json"] = write_json("ops.json", ops_cases())
    sizes["safetensors.json"] = write_json("safetensors.json", safetensors_cases())
    names = set()
    for fname in sizes:
        with open(os.path.join(HERE, fname)) as f:
            for case in json.load(f)["cases"]:
                assert case["name"] not in names, f"duplicate case name {case['name']}"
                names.add(case["name"])
    for fname, n in sizes.items():
        assert n < MAX_FILE, f"{fname} is {n} bytes"
        print(f"{fname}: {n} bytes")
    assert sum(sizes.values()) < MAX_TOTAL
    print(f"{len(names)} cases, checks: {CHECKS}")


if __name__ == "__main__":
    main()
