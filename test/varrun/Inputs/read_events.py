"""Reads a TensorBoard event file independently of VAR's C++ reader: checks
the TFRecord framing and both masked CRC-32C of every record, decodes the
Event protos by hand (wall_time 1, step 2, file_version 3, summary 5;
Summary.value 1; Value tag 1, simple_value 2) and prints one line per
record: `version V` or `step N TAG VALUE` per scalar.

Usage: read_events.py DIR (the one events.out.tfevents.* file in it)."""
import glob
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def fields(data):
    """(field number, wire type, value) of a protobuf message."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 2:
            length, i = varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            sys.exit("unexpected wire type %d" % wire)
        yield number, wire, value


def varint(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def main():
    paths = glob.glob(sys.argv[1] + "/events.out.tfevents.*")
    if len(paths) != 1:
        sys.exit("expected one event file in %s, found %d" % (sys.argv[1], len(paths)))
    data = open(paths[0], "rb").read()
    offset = 0
    while offset < len(data):
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if length_crc != masked(header):
            sys.exit("length CRC mismatch at byte %d" % offset)
        payload = data[offset + 12:offset + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])
        if payload_crc != masked(payload):
            sys.exit("payload CRC mismatch at byte %d" % offset)
        offset += 16 + length
        step = 0
        for number, wire, value in fields(payload):
            if number == 2:
                step = value
            elif number == 3:
                print("version", value.decode())
            elif number == 5:
                for _, _, entry in fields(value):
                    tag, scalar = None, None
                    for n, _, v in fields(entry):
                        if n == 1:
                            tag = v.decode()
                        elif n == 2:
                            (scalar,) = struct.unpack("<f", v)
                    print("step %d %s %.6g" % (step, tag, scalar))
    print("records ok")


main()
