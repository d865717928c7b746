"""Float64 reference implementations behind the golden files (see docs/semantics.md).

- ``mha_torch``: torch's own ``nn.MultiheadAttention`` run in float64, with the
  torch 2.x mask rule applied where torch 1.13 differs (see ``merge_masks_2x``).
- ``mha_direct``: the same attention written out op by op (a cross-check).
- ``linformer``: Linformer attention written from docs/semantics.md.
- ``seed_linformer``: the seed ``LinearMultiheadAttention`` forward pass
  (kuixu/Linear-Multihead-Attention, ``linear_multi_head_attention_forward``)
  transcribed op for op, with its reshape fixed (permute to (k, N, E) before
  ``view(-1, N*H, d)``). It only runs where the seed runs: S = seq_len, no
  masks, no add_zero_attn (commented out in the seed).

All tensors passed in are float64 (masks: bool or float64). ``params`` is a
torch-style state dict (``in_proj_weight`` or ``q/k/v_proj_weight``,
``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``, ``bias_k``,
``bias_v``, ``e_proj_weight``, ``f_proj_weight``, ``bias_e``, ``bias_f``).
"""
import torch
import torch.nn.functional as F

NEG_INF = float("-inf")


def additive(mask, dtype=torch.float64):
    """A bool mask (True = masked out) as 0/-inf floats; a float mask cast to ``dtype``."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype).masked_fill(mask, NEG_INF)
    return mask.to(dtype)


def _in_projection(params, query, key, value, E):
    """q, k, v in-projections as torch does them (packed or separate weights)."""
    b = params.get("in_proj_bias")
    bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
    if "in_proj_weight" in params:
        wq, wk, wv = params["in_proj_weight"].chunk(3)
    else:
        wq, wk, wv = params["q_proj_weight"], params["k_proj_weight"], params["v_proj_weight"]
    return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)


# ---------------------------------------------------------------------------
# Standard attention
# ---------------------------------------------------------------------------

def merge_masks_2x(kpm, attn_mask, num_heads, batched, bsz):
    """Torch 2.x rule: both masks become additive floats and are added.

    Torch 1.13 agrees with 2.x except when both masks are given and at least one
    is float: a float key_padding_mask with a float attn_mask is silently
    ignored (``masked_fill`` with a non-bool mask), and with a bool attn_mask it
    is ``logical_or``-ed (every non-zero value becomes -inf). For those we merge
    the masks here and hand torch a single float attn_mask.
    Returns (kpm, attn_mask) to pass to torch.
    """
    if kpm is None or attn_mask is None:
        return kpm, attn_mask
    if kpm.dtype == torch.bool and attn_mask.dtype == torch.bool:
        return kpm, attn_mask
    if kpm.dtype == torch.bool and attn_mask.dtype != torch.bool:
        return kpm, attn_mask  # 1.13: masked_fill(-inf), same as 2.x
    kp, am = additive(kpm), additive(attn_mask)
    if batched:
        L, S = am.shape[-2], am.shape[-1]
        kp = kp.view(bsz, 1, 1, S).expand(bsz, num_heads, 1, S).reshape(bsz * num_heads, 1, S)
        am = am.unsqueeze(0) if am.dim() == 2 else am
        merged = (am + kp).expand(bsz * num_heads, L, S).contiguous()
    else:
        L, S = am.shape[-2], am.shape[-1]
        am = am.unsqueeze(0) if am.dim() == 2 else am
        merged = (am + kp.view(1, 1, S)).expand(num_heads, L, S).contiguous()
    return None, merged


def build_torch_mha(opts, params):
    """A float64 torch.nn.MultiheadAttention holding ``params``."""
    m = torch.nn.MultiheadAttention(
        opts["embedDim"], opts["numHeads"], dropout=0.0,
        bias=opts.get("bias", True), add_bias_kv=opts.get("addBiasKV", False),
        add_zero_attn=opts.get("addZeroAttn", False), kdim=opts.get("kdim"),
        vdim=opts.get("vdim"), batch_first=opts.get("batchFirst", False),
    ).double().eval()
    m.load_state_dict({k: v.to(torch.float64) for k, v in params.items()}, strict=True)
    return m


def mha_torch(opts, params, query, key, value, key_padding_mask=None, attn_mask=None,
              need_weights=True, average_attn_weights=True):
    """torch.nn.MultiheadAttention in float64, torch 2.x mask rule."""
    m = build_torch_mha(opts, params)
    batched = query.dim() == 3
    bsz = (query.shape[0] if opts.get("batchFirst") else query.shape[1]) if batched else 1
    kpm, am = merge_masks_2x(key_padding_mask, attn_mask, opts["numHeads"], batched, bsz)
    with torch.no_grad():
        # distinct tensor objects: the 1.13 fast path (query is key is value) is never taken
        out, w = m(query.clone(), key.clone(), value.clone(), key_padding_mask=kpm,
                   need_weights=need_weights, attn_mask=am,
                   average_attn_weights=average_attn_weights)
    return out, w


def _to_lne(x, batched, batch_first):
    if not batched:
        return x.unsqueeze(1)
    return x.transpose(0, 1) if batch_first else x


def _from_lne(x, batched, batch_first):
    if not batched:
        return x.squeeze(1)
    return x.transpose(0, 1) if batch_first else x


def _heads_out(weights, out_lne, params, batched, batch_first, need_weights, average):
    """Out-projection and weight averaging shared by both attentions."""
    out = F.linear(out_lne, params["out_proj.weight"], params.get("out_proj.bias"))
    out = _from_lne(out, batched, batch_first)
    if not need_weights:
        return out, None
    w = weights.mean(dim=1) if average else weights
    if not batched:
        w = w.squeeze(0)
    return out, w


def _attn_mask_4d(attn_mask, N, H, L, P, dtype):
    """(L,X) / (N*H,L,X) / unbatched (H,L,X) → additive (N,H,L,P) (or broadcastable),
    zero-padded on the right from X to P as torch pads it."""
    am = additive(attn_mask, dtype)
    if am.shape[-1] < P:
        am = F.pad(am, (0, P - am.shape[-1]))
    if am.dim() == 2:
        return am.view(1, 1, L, P)
    return am.view(N, H, L, P)


def mha_direct(opts, params, query, key, value, key_padding_mask=None, attn_mask=None,
               need_weights=True, average_attn_weights=True):
    """Standard attention written out (docs/semantics.md), float64, torch 2.x mask rule."""
    E, H = opts["embedDim"], opts["numHeads"]
    d = E // H
    bf = opts.get("batchFirst", False)
    batched = query.dim() == 3
    q, k, v = (_to_lne(x, batched, bf) for x in (query, key, value))
    L, N, _ = q.shape
    q, k, v = _in_projection(params, q, k, v, E)
    q = q * (d ** -0.5)
    if "bias_k" in params:
        k = torch.cat([k, params["bias_k"].expand(1, N, E)])
        v = torch.cat([v, params["bias_v"].expand(1, N, E)])
    qh = q.permute(1, 0, 2).reshape(N, L, H, d).transpose(1, 2)
    kh = k.permute(1, 0, 2).reshape(N, -1, H, d).transpose(1, 2)
    vh = v.permute(1, 0, 2).reshape(N, -1, H, d).transpose(1, 2)
    if opts.get("addZeroAttn", False):
        kh = torch.cat([kh, torch.zeros(N, H, 1, d, dtype=kh.dtype)], dim=2)
        vh = torch.cat([vh, torch.zeros(N, H, 1, d, dtype=vh.dtype)], dim=2)
    P = kh.shape[2]
    scores = qh @ kh.transpose(-1, -2)
    if attn_mask is not None:
        scores = scores + _attn_mask_4d(attn_mask, N, H, L, P, scores.dtype)
    if key_padding_mask is not None:
        kp = additive(key_padding_mask, scores.dtype).reshape(N, -1)
        kp = F.pad(kp, (0, P - kp.shape[-1]))
        scores = scores + kp.view(N, 1, 1, P)
    w = torch.softmax(scores, dim=-1)
    o = (w @ vh).transpose(1, 2).reshape(N, L, E).transpose(0, 1)
    return _heads_out(w, o, params, batched, bf, need_weights, average_attn_weights)


# ---------------------------------------------------------------------------
# Linformer attention
# ---------------------------------------------------------------------------

def linformer(opts, params, query, key, value, key_padding_mask=None, attn_mask=None,
              need_weights=True, average_attn_weights=True, shared_e=None):
    """Linformer attention (docs/semantics.md) in float64.

    ``shared_e``: the owner's e_proj_weight for a 'layerwise' module built with
    shareWith (its own params then hold no e/f_proj_weight).
    """
    E, H = opts["embedDim"], opts["numHeads"]
    d = E // H
    kk, seq_len = opts["projK"], opts["seqLen"]
    sharing = opts.get("paramSharing", "none")
    bf = opts.get("batchFirst", False)
    batched = query.dim() == 3

    Ew = shared_e if shared_e is not None else params["e_proj_weight"]
    Fw = params["f_proj_weight"] if sharing in ("none", "per-head") else Ew

    q, k, v = (_to_lne(x, batched, bf) for x in (query, key, value))
    L, N, _ = q.shape
    q, k, v = _in_projection(params, q, k, v, E)
    q = q * (d ** -0.5)                                   # 1. scale after the bias
    k, v = k.transpose(0, 1), v.transpose(0, 1)           # (N, S, E)
    if key_padding_mask is not None:                      # 3. zero masked rows
        assert key_padding_mask.dtype == torch.bool
        keep = (~key_padding_mask.reshape(N, -1)).to(k.dtype).unsqueeze(-1)
        k, v = k * keep, v * keep
    if "bias_k" in params:                                # 2. bias row, never masked
        k = torch.cat([k, params["bias_k"].reshape(1, 1, E).expand(N, 1, E)], dim=1)
        v = torch.cat([v, params["bias_v"].reshape(1, 1, E).expand(N, 1, E)], dim=1)
    S = k.shape[1]
    assert S <= seq_len, f"S={S} > seqLen={seq_len}"
    be = params["bias_e"].reshape(1, kk, 1)
    bfb = params["bias_f"].reshape(1, kk, 1)
    if sharing == "per-head":                             # 4. per head E_h over its d columns
        kp = torch.einsum("hjs,nshd->njhd", Ew[:, :, :S], k.reshape(N, S, H, d)).reshape(N, kk, E) + be
        vp = torch.einsum("hjs,nshd->njhd", Fw[:, :, :S], v.reshape(N, S, H, d)).reshape(N, kk, E) + bfb
    else:                                                 # 4. k'[n] = E[:, :S]·k[n] + bias_e
        kp = torch.einsum("js,nse->nje", Ew[:, :S], k) + be
        vp = torch.einsum("js,nse->nje", Fw[:, :S], v) + bfb
    if opts.get("addZeroAttn", False):                    # 5. zero row after projection
        kp = torch.cat([kp, torch.zeros(N, 1, E, dtype=kp.dtype)], dim=1)
        vp = torch.cat([vp, torch.zeros(N, 1, E, dtype=vp.dtype)], dim=1)
    P = kp.shape[1]
    qh = q.transpose(0, 1).reshape(N, L, H, d).transpose(1, 2)   # (N,H,L,d)
    kh = kp.reshape(N, P, H, d).transpose(1, 2)                   # (N,H,P,d)
    vh = vp.reshape(N, P, H, d).transpose(1, 2)
    scores = qh @ kh.transpose(-1, -2)                    # 6.
    if attn_mask is not None:
        assert attn_mask.shape[-1] in (kk, P)
        scores = scores + _attn_mask_4d(attn_mask, N, H, L, P, scores.dtype)
    w = torch.softmax(scores, dim=-1)
    o = (w @ vh).transpose(1, 2).reshape(N, L, E).transpose(0, 1)  # (L,N,E)
    return _heads_out(w, o, params, batched, bf, need_weights, average_attn_weights)


def seed_linformer(opts, params, query, key, value, fix_reshape=True):
    """The seed's forward pass (S = seq_len, no masks, no add_zero_attn), batch second.

    Op order as in the seed: in-projection, q*scaling, bias_k/bias_v rows,
    k.transpose(0,1).transpose(1,2) -> (N,E,S), linear(k, E, bias_e) -> (N,E,k),
    then (the fix) permute to (k,N,E) before view(-1, N*H, d); bmm, softmax,
    bmm, out-projection, weights summed over heads / H.
    """
    E, H = opts["embedDim"], opts["numHeads"]
    d = E // H
    tgt_len, bsz, _ = query.shape
    e_w = params["e_proj_weight"]
    f_w = params["f_proj_weight"] if opts.get("paramSharing", "none") == "none" else e_w
    q, k, v = _in_projection(params, query, key, value, E)
    q = q * float(d) ** -0.5
    if "bias_k" in params:
        k = torch.cat([k, params["bias_k"].repeat(1, bsz, 1)])
        v = torch.cat([v, params["bias_v"].repeat(1, bsz, 1)])
    k = k.transpose(0, 1).transpose(1, 2)
    k = F.linear(k, e_w, params["bias_e"])           # (N, E, k)
    v = v.transpose(0, 1).transpose(1, 2)
    v = F.linear(v, f_w, params["bias_f"])
    if fix_reshape:
        k = k.permute(2, 0, 1)                       # (k, N, E)
        v = v.permute(2, 0, 1)
    q = q.contiguous().view(tgt_len, bsz * H, d).transpose(0, 1)
    k = k.contiguous().view(-1, bsz * H, d).transpose(0, 1)
    v = v.contiguous().view(-1, bsz * H, d).transpose(0, 1)
    src_len = k.size(1)
    w = torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=-1)
    out = torch.bmm(w, v).transpose(0, 1).contiguous().view(tgt_len, bsz, E)
    out = F.linear(out, params["out_proj.weight"], params.get("out_proj.bias"))
    w = w.view(bsz, H, tgt_len, src_len)
    return out, w.sum(dim=1) / H


__all__ = ["additive", "merge_masks_2x", "build_torch_mha", "mha_torch", "mha_direct",
           "linformer", "seed_linformer"]
