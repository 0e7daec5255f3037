"""Compares two safetensors files of F32 tensors with the same names, each
tensor by its largest difference over its largest magnitude, that scale
floored at 1e-4 x the largest magnitude in the file: a gradient that is
zero but for rounding (a batch norm's bias before another batch norm)
compares by the model's scale, not its own noise. Prints
"ok|DIFFERENT (worst E in NAME)" and exits 1 above the tolerance.
Usage: compare_tensors.py TOLERANCE REFERENCE OTHER"""
import json
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
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = struct.unpack("<%df" % ((end - begin) // 4),
                                      body[begin:end])
    return tensors


tolerance = float(sys.argv[1])
reference, other = load(sys.argv[2]), load(sys.argv[3])
if sorted(reference) != sorted(other):
    print("DIFFERENT (tensor names differ)")
    sys.exit(1)
floor = 1e-4 * max([abs(v) for values in reference.values()
                    for v in values] + [1e-30])
worst, where = 0.0, ""
for name, values in reference.items():
    scale = max([abs(v) for v in values] + [floor])
    error = max([abs(a - b) for a, b in zip(values, other[name])] + [0.0])
    if error / scale > worst:
        worst, where = error / scale, name
print("%s (worst %.1e in %s)" % ("ok" if worst <= tolerance else "DIFFERENT",
                                 worst, where))
sys.exit(0 if worst <= tolerance else 1)
