#!/usr/bin/python3
"""Write torch tensors as .safetensors without the safetensors package (Debian has none).

Format: 8-byte little-endian header length, a JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}} padded with
spaces to a multiple of 8, then each tensor's little-endian bytes in C order.

Library use:  from write_safetensors import write_safetensors
CLI:          write_safetensors.py in.pth out.safetensors
"""
import json
import struct
import sys

import torch

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def tensor_bytes(t):
    # A byte view of a contiguous flat copy works for every dtype, bfloat16 included.
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: mapping name -> torch.Tensor, written in the mapping's order."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    chunks, offset = [], 0
    for name, t in tensors.items():
        if t.dtype not in DTYPES:
            raise ValueError(f"{name}: unsupported dtype {t.dtype}")
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for c in chunks:
            f.write(c)


def unwrap_state_dict(obj):
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            return obj[key]
    return obj


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: write_safetensors.py in.pth out.safetensors")
    try:  # torch >= 1.13 can refuse non-tensor globals while loading
        obj = torch.load(argv[1], map_location="cpu", weights_only=True)
    except TypeError:
        obj = torch.load(argv[1], map_location="cpu")
    sd = unwrap_state_dict(obj)
    write_safetensors(argv[2], sd)


if __name__ == "__main__":
    main(sys.argv)
