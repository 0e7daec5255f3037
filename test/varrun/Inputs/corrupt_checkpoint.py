"""Damages a checkpoint file the way disks and crashes do.
Usage: corrupt_checkpoint.py truncate FILE BYTES
       corrupt_checkpoint.py flip FILE TENSOR   (a bit in TENSOR's data)
       corrupt_checkpoint.py flip-last FILE     (a bit in the last byte)"""
import json
import struct
import sys

command, path = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    data = bytearray(f.read())
if command == "truncate":
    data = data[:int(sys.argv[3])]
elif command == "flip":
    (length,) = struct.unpack("<Q", data[:8])
    begin, _ = json.loads(data[8:8 + length])[sys.argv[3]]["data_offsets"]
    data[8 + length + begin] ^= 1
elif command == "flip-last":
    data[-1] ^= 0x10
else:
    sys.exit("unknown command " + command)
with open(path, "wb") as f:
    f.write(data)
