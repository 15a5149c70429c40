"""Reads a GGUF file's `general.file_type` (llama.cpp's llama_ftype: how the
weights are quantized) without loading the model."""

import struct

# llama_ftype values the bench models use, and a few common ones.
FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
              15: "Q4_K_M", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16"}
# GGUF value types: fixed sizes (struct codes); 8 is a string, 9 an array.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q",
            11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


def _read(f, fmt):
    size = struct.calcsize("<" + fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF header")
    return struct.unpack("<" + fmt, data)[0]


def _string(f):
    return f.read(_read(f, "Q")).decode(errors="replace")


def _value(f, vtype):
    if vtype in _SCALARS:
        return _read(f, _SCALARS[vtype])
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        item_type, n = _read(f, "I"), _read(f, "Q")
        return [_value(f, item_type) for _ in range(n)]
    raise ValueError(f"unknown GGUF value type {vtype}")


def file_type(path):
    """The file's quantization name (e.g. "Q4_0", "F16"), "ftype N" for an
    unnamed one, or None when the file does not say."""
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        _read(f, "I")  # version
        _read(f, "Q")  # tensor count
        for _ in range(_read(f, "Q")):
            key, vtype = _string(f), _read(f, "I")
            value = _value(f, vtype)
            if key == "general.file_type":
                return FILE_TYPES.get(value, f"ftype {value}")
    return None
