"""Makes variants of a safetensors weights file for varrun's import tests,
with struct/json only (no torch). Usage:
  edit_weights.py reshape IN OUT NAME DIM0      NAME's first dim -> DIM0
  edit_weights.py drop IN OUT NAME              leave NAME out
  edit_weights.py add IN OUT NAME DTYPE         add a zero scalar NAME
  edit_weights.py check-reset OUT FILE FRESH PREFIX
      OUT's tensors under PREFIX equal FRESH's, the others FILE's
  edit_weights.py names IN                      print names and shapes
  edit_weights.py batch DUMP OUT                a --dump-step's input and
                                                labels as an --input-file
  edit_weights.py same A B NAME...              NAMEs equal in A and B"""
import json
import struct
import sys

SIZES = {"F32": 4, "I64": 8, "BF16": 2, "F16": 2}


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
        begin, end = info["data_offsets"]
        tensors[name] = (info["dtype"], info["shape"], body[begin:end])
    return tensors


def save(path, tensors):
    header, body = {}, b""
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def floats(tensor):
    dtype, _, data = tensor
    assert dtype == "F32", dtype
    return struct.unpack("<%df" % (len(data) // 4), data)


mode = sys.argv[1]
if mode == "check-reset":
    out, file, fresh = (load(p) for p in sys.argv[2:5])
    prefix = sys.argv[5]
    for name in sorted(out):
        want = fresh if name.startswith(prefix) else file
        same = floats(out[name]) == floats(want[name])
        print("%s: %s %s" % (name, "fresh" if want is fresh else "file",
                             "ok" if same else "DIFFERENT"))
    sys.exit(0)

if mode == "names":
    for name, (_, shape, _) in sorted(load(sys.argv[2]).items()):
        print(name, shape)
    sys.exit(0)
if mode == "same":
    a, b = load(sys.argv[2]), load(sys.argv[3])
    for name in sys.argv[4:]:
        same = a[name] == b[name]
        print("%s: %s" % (name, "ok" if same else "DIFFERENT"))
    sys.exit(0)
if mode == "batch":
    dump = load(sys.argv[2])
    labels = [int(v) for v in floats(dump["labels"])]
    save(sys.argv[3], {
        "input": dump["input"],
        "labels": ("I64", [len(labels)],
                   struct.pack("<%dq" % len(labels), *labels))})
    sys.exit(0)

tensors = load(sys.argv[2])
name = sys.argv[4]
if mode == "reshape":
    dtype, shape, data = tensors[name]
    rows = int(sys.argv[5])
    row = len(data) // shape[0]
    data = (data * (rows // shape[0] + 1))[:rows * row]
    tensors[name] = (dtype, [rows] + shape[1:], data)
elif mode == "drop":
    del tensors[name]
elif mode == "add":
    dtype = sys.argv[5]
    tensors[name] = (dtype, [], b"\0" * SIZES[dtype])
else:
    sys.exit("unknown mode " + mode)
save(sys.argv[3], tensors)
