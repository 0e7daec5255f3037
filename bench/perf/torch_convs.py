#!/usr/bin/env python3
"""The convolutions of a zoo model as PyTorch runs them (cuDNN through its
graph API, cudnn.benchmark on, BF16, channels-last), each timed alone:
forward, backward data and backward filter, summed over the model's layers
(a layer's time times its count). Puts varrun's per-op profile
(`var.conv`, `var.conv_grad_input`, `var.conv_grad_weight`) beside the
convolutions of the framework it is compared with, so that a gap in the
step can be split into convolutions and the rest.

  torch_convs.py [--models M,...] [--iterations N] [--deterministic]
                 [--out FILE]

Prints one JSON object per model: per direction the milliseconds a step
and the slowest layers."""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import CLASSES, MODELS  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "parity"))
from parity import build  # noqa: E402


def layers_of(name, device):
    """(key, count) of every convolution one forward of `name` runs, the key
    holding what a timing needs: input shape, weight shape and geometry."""
    batch, frames, size = MODELS[name]
    model, inner = build(name, CLASSES)
    if name == "r2plus1d_18":
        model = inner
        clips = torch.randn(batch, 3, frames, size, size)
    else:
        clips = torch.randn(batch, frames, 3, size, size)
    seen = {}

    def hook(module, inputs, _):
        key = (type(module).__name__, tuple(inputs[0].shape),
               tuple(module.weight.shape), module.stride, module.padding,
               module.dilation, module.groups)
        seen[key] = seen.get(key, 0) + 1

    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Conv3d)):
            module.register_forward_hook(hook)
    with torch.no_grad():
        model(clips)
    return seen


def time_ms(fn, iterations):
    for _ in range(3):
        fn()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / iterations


def time_layer(key, iterations, device):
    kind, shape, wshape, stride, padding, dilation, groups = key
    layout = (torch.channels_last_3d if kind == "Conv3d"
              else torch.channels_last)
    dt = torch.bfloat16
    x = torch.randn(shape, device=device, dtype=dt).to(memory_format=layout)
    w = torch.randn(wshape, device=device, dtype=dt).to(memory_format=layout)
    conv = torch.ops.aten.convolution
    y = conv(x, w, None, stride, padding, dilation, False,
             [0] * len(stride), groups)
    dy = torch.randn_like(y)
    back = torch.ops.aten.convolution_backward

    def backward(mask):
        return lambda: back(dy, x, w, None, stride, padding, dilation, False,
                            [0] * len(stride), groups, mask)

    # The stem's input (the clips) needs no gradient, here or in varrun.
    stem = shape[1] <= 4
    return {
        "forward": time_ms(lambda: conv(x, w, None, stride, padding, dilation,
                                        False, [0] * len(stride), groups),
                           iterations),
        "data": 0.0 if stem else time_ms(backward([True, False, False]),
                                         iterations),
        "filter": time_ms(backward([False, True, False]), iterations),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="vgg11_bn,r2plus1d_18")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--out")
    parser.add_argument("--deterministic", action="store_true",
                        help="only cuDNN's deterministic algorithms, as "
                        "varrun takes (bit-reproducible runs)")
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = args.deterministic
    device = torch.device("cuda")
    for name in args.models.split(","):
        totals = {"forward": 0.0, "data": 0.0, "filter": 0.0}
        rows = []
        for key, count in layers_of(name, device).items():
            times = time_layer(key, args.iterations, device)
            for direction, ms in times.items():
                totals[direction] += ms * count
            rows.append({"input": key[1], "weight": key[2],
                         "stride": key[3], "count": count, **times})
        rows.sort(key=lambda r: -(r["forward"] + r["data"] + r["filter"]) *
                  r["count"])
        line = json.dumps({"model": name, "ms_per_step": totals,
                           "deterministic": args.deterministic,
                           "layers": len(rows), "slowest": rows[:8]})
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
