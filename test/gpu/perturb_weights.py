"""Multiplies every F32 value of a safetensors file by (1 + 1e-7 x),
x uniform in [-1, 1) from a fixed seed: a start that differs from the
original by about float32 rounding, to measure how far a run's own
rounding carries its weights in a few steps.
Usage: perturb_weights.py IN OUT"""
import json
import random
import struct
import sys

with open(sys.argv[1], "rb") as f:
    data = bytearray(f.read())
(length,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + length])
base = 8 + length
rng = random.Random(0)
for name, info in header.items():
    if name == "__metadata__" or info["dtype"] != "F32":
        continue
    begin, end = info["data_offsets"]
    count = (end - begin) // 4
    values = struct.unpack_from("<%df" % count, data, base + begin)
    values = [v * (1.0 + 1e-7 * (2.0 * rng.random() - 1.0)) for v in values]
    struct.pack_into("<%df" % count, data, base + begin, *values)
with open(sys.argv[2], "wb") as f:
    f.write(data)
