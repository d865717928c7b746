#!/usr/bin/env python3
"""Export an attention module's state_dict to a .safetensors file for linformer-wasm.

Examples:
  # a fresh torch.nn.MultiheadAttention (embed 64, 8 heads), as f16
  python3 scripts/export_safetensors.py mha.safetensors --embed-dim 64 --num-heads 8 --dtype f16

  # a checkpoint: a pickled module, a state_dict, or a dict holding one under
  # "state_dict"/"model"; --prefix selects one module's keys and strips the prefix
  python3 scripts/export_safetensors.py attn.safetensors --checkpoint ckpt.pt \
      --prefix encoder.layers.0.self_attn. --dtype bf16

The file is written with the `safetensors` package when it is importable, else
with the small writer below (same format: u64 little-endian header length, a
JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}} padded
with spaces to a multiple of 8, then the raw little-endian tensor bytes).
Load it with `attn.loadStateDict(...)` in linformer-wasm (F16/BF16 are
converted to f32 on load).
"""
import argparse
import json
import struct
import sys

import torch

DTYPES = {"f32": (torch.float32, "F32"), "f16": (torch.float16, "F16"), "bf16": (torch.bfloat16, "BF16")}


def tensor_bytes(t, dtype):
    """Raw little-endian bytes of ``t`` converted to ``dtype`` ('f32' | 'f16' | 'bf16')."""
    tt = t.detach().to("cpu").to(DTYPES[dtype][0]).contiguous()
    if dtype == "bf16":
        arr = tt.view(torch.int16).numpy().astype("<i2")
    elif dtype == "f16":
        arr = tt.numpy().astype("<f2")
    else:
        arr = tt.numpy().astype("<f4")
    return arr.tobytes()


def write_safetensors(path, tensors, dtype="f32", metadata=None):
    """Built-in writer: ``tensors`` maps names to torch tensors; entries in name order."""
    st_dtype = DTYPES[dtype][1]
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensor_bytes(tensors[name], dtype)
        header[name] = {"dtype": st_dtype, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)


def read_safetensors(path):
    """Read a file back as {name: float32 tensor} plus the metadata (for checks)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        chunk = bytearray(body[b:e])
        if info["dtype"] == "F32":
            t = torch.frombuffer(chunk, dtype=torch.float32)
        elif info["dtype"] == "F16":
            t = torch.frombuffer(chunk, dtype=torch.float16).float()
        elif info["dtype"] == "BF16":
            t = torch.frombuffer(chunk, dtype=torch.int16).view(torch.bfloat16).float()
        else:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta


def save(path, tensors, dtype="f32", metadata=None):
    """Write with the `safetensors` package if present, else the built-in writer."""
    try:
        from safetensors.torch import save_file
    except ImportError:
        return write_safetensors(path, tensors, dtype, metadata)
    conv = {k: v.detach().to("cpu").to(DTYPES[dtype][0]).contiguous().clone() for k, v in tensors.items()}
    save_file(conv, path, metadata={str(k): str(v) for k, v in (metadata or {}).items()})


def load_state_dict(args):
    if args.checkpoint is None:
        torch.manual_seed(args.seed)
        m = torch.nn.MultiheadAttention(args.embed_dim, args.num_heads, bias=not args.no_bias,
                                        add_bias_kv=args.add_bias_kv, kdim=args.kdim, vdim=args.vdim)
        return m.state_dict()
    obj = torch.load(args.checkpoint, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    sd = {k: v for k, v in obj.items() if torch.is_tensor(v)}
    if args.prefix:
        sd = {k[len(args.prefix):]: v for k, v in sd.items() if k.startswith(args.prefix)}
        if not sd:
            sys.exit(f"no tensor key starts with {args.prefix!r}")
    return sd


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="output .safetensors path")
    p.add_argument("--checkpoint", help="torch.load-able file (module or state_dict); default: a new nn.MultiheadAttention")
    p.add_argument("--prefix", default="", help="keep only keys with this prefix, and strip it")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    p.add_argument("--embed-dim", type=int, default=64)
    p.add_argument("--num-heads", type=int, default=8)
    p.add_argument("--kdim", type=int)
    p.add_argument("--vdim", type=int)
    p.add_argument("--add-bias-kv", action="store_true")
    p.add_argument("--no-bias", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    sd = load_state_dict(args)
    save(args.out, sd, args.dtype, {"format": "pt", "torch": torch.__version__})
    for k, v in sd.items():
        print(f"{k}\t{tuple(v.shape)}")
    print(f"wrote {len(sd)} tensors as {args.dtype} to {args.out}")


if __name__ == "__main__":
    main()
