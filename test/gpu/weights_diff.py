"""Compares the trained FP32 weights of two runs of the same plan, tensor by
tensor, as the norm of the difference over the norm of the reference
(BatchNorm running statistics and counters left out: they follow the
weights). Prints "worst W in NAME, whole model M" and, with a tolerance,
exits 1 when the worst tensor is above it.
Usage: weights_diff.py REFERENCE OTHER [TOLERANCE]"""
import json
import math
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        if (name == "__metadata__" or info["dtype"] != "F32" or
                ".running_" in name):
            continue
        begin, end = info["data_offsets"]
        tensors[name] = struct.unpack("<%df" % ((end - begin) // 4),
                                      body[begin:end])
    return tensors


reference, other = load(sys.argv[1]), load(sys.argv[2])
if sorted(reference) != sorted(other):
    print("tensor names differ")
    sys.exit(1)
worst, where, total_diff, total_ref = 0.0, "", 0.0, 0.0
for name, values in reference.items():
    diff = sum((a - b) ** 2 for a, b in zip(values, other[name]))
    ref = sum(a * a for a in values)
    total_diff += diff
    total_ref += ref
    relative = math.sqrt(diff / ref) if ref > 0 else math.sqrt(diff)
    if relative >= worst:
        worst, where = relative, name
whole = math.sqrt(total_diff / total_ref) if total_ref > 0 else 0.0
print("worst %.1e in %s, whole model %.1e" % (worst, where, whole))
if len(sys.argv) > 3 and worst > float(sys.argv[3]):
    sys.exit(1)
