"""Summarizes the `input` and `labels` of a varrun --dump-step file, for
builtin:random: the input's shape, mean and standard deviation (two
decimals) and whether every label lies in [0, 101). Usage:
check_random_batch.py FILE"""
import json
import math
import struct
import sys

with open(sys.argv[1], "rb") as f:
    data = f.read()
(length,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + length])
body = data[8 + length:]


def floats(name):
    info = header[name]
    assert info["dtype"] == "F32", (name, info["dtype"])
    begin, end = info["data_offsets"]
    return info["shape"], struct.unpack("<%df" % ((end - begin) // 4),
                                        body[begin:end])


shape, values = floats("input")
mean = sum(values) / len(values)
std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
_, labels = floats("labels")
ok = all(v == int(v) and 0 <= v < 101 for v in labels)
mean = round(mean, 2) + 0.0  # no "-0.00"
print("input %s mean %.2f std %.2f, labels %s" % (
    "x".join(map(str, shape)), mean, std,
    "in range" if ok else "OUT OF RANGE: %s" % (labels,)))
