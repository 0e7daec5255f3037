"""Compares safetensors weight files against the first: every tensor equal
within a relative tolerance. Usage: compare_weights.py RTOL BASE OTHER...
Prints one line per file, exits 1 on any difference."""
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
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (path, name, info["dtype"])
        begin, end = info["data_offsets"]
        count = (end - begin) // 4
        tensors[name] = struct.unpack("<%df" % count, body[begin:end])
    return tensors


rtol = float(sys.argv[1])
base = load(sys.argv[2])
failed = False
for path in sys.argv[3:]:
    other = load(path)
    worst = 0.0
    if sorted(other) != sorted(base):
        print("%s: tensors differ: %s" % (path, sorted(set(base) ^ set(other))))
        failed = True
        continue
    for name, values in base.items():
        for a, b in zip(values, other[name]):
            worst = max(worst, abs(a - b) / max(1.0, abs(a)))
    status = "ok" if worst <= rtol else "DIFFERENT"
    failed |= worst > rtol
    print("%s: %s (worst relative difference %.2e)" % (path.split("/")[-1], status, worst))
sys.exit(1 if failed else 0)
