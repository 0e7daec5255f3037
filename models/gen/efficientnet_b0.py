#!/usr/bin/env python3
"""torchvision's efficientnet_b0 as a per-frame video model: every frame of a
clip is classified on its own and the clip's logits are the mean of its
frames' logits.

Other generators reuse the backbone: `features()` gives the (B*T, 1280, h, w)
map with torchvision's `features.*` names, `build()` the per-clip logits.
"""

import argparse
import os
import sys

# Importing varmodel must not leave __pycache__ in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varmodel import DYN, ModelBuilder  # noqa: E402

# torchvision's _efficientnet_conf("efficientnet_b0"), width and depth 1.0:
# (expand_ratio, kernel, stride, input_channels, out_channels, num_layers).
STAGES = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]
LAST_CHANNELS = 4 * STAGES[-1][4]  # 1280
DROPOUT = 0.2


def conv_bn(m, x, name, out_channels, kernel, stride=1, groups=1,
            activation=True):
    """torchvision's Conv2dNormActivation: conv (no bias), BN, SiLU.

    B0 uses plain nn.BatchNorm2d (eps 1e-5, momentum 0.1); only B5-B7 pass
    eps 1e-3 and momentum 0.01.
    """
    x = m.conv(x, name + ".0", out_channels, kernel, stride,
               padding=(kernel - 1) // 2, groups=groups)
    x = m.batch_norm(x, name + ".1")
    return m.silu(x, name + ".silu") if activation else x


def squeeze_excitation(m, x, name, squeeze_channels):
    """torchvision's SqueezeExcitation with SiLU: x * sigmoid(fc2(silu(fc1(
    avgpool(x)))))."""
    hint = name.replace(".", "_")
    scale = m.global_avg_pool(x, keep_dims=True, hint=hint + "_squeezed")
    scale = m.conv(scale, name + ".fc1", squeeze_channels, 1, bias=True)
    scale = m.silu(scale, hint + "_act")
    scale = m.conv(scale, name + ".fc2", x.shape[1], 1, bias=True)
    scale = m.sigmoid(scale, hint + "_scale")
    return m.mul(x, scale, hint + "_excited")


def mbconv(m, x, name, expand_ratio, kernel, stride, out_channels):
    """torchvision's MBConv: expand, depthwise, squeeze-excitation, project,
    and the residual where shapes allow (stochastic depth left out)."""
    in_channels = x.shape[1]
    expanded = in_channels * expand_ratio
    layers = []
    y = x
    if expanded != in_channels:
        y = conv_bn(m, y, "%s.block.%d" % (name, len(layers)), expanded, 1)
        layers.append("expand")
    y = conv_bn(m, y, "%s.block.%d" % (name, len(layers)), expanded, kernel,
                stride, groups=expanded)
    layers.append("depthwise")
    y = squeeze_excitation(m, y, "%s.block.%d" % (name, len(layers)),
                           max(1, in_channels // 4))
    layers.append("se")
    y = conv_bn(m, y, "%s.block.%d" % (name, len(layers)), out_channels, 1,
                activation=False)
    if stride == 1 and in_channels == out_channels:
        y = m.add(y, x, name.replace(".", "_") + "_out")
    return y


def features(m, frames, prefix=""):
    """efficientnet_b0.features on (N, 3, H, W) frames: (N, 1280, H/32,
    W/32)."""
    m.comment("%sfeatures.0: stem, 3 -> 32, stride 2." % prefix)
    x = conv_bn(m, frames, prefix + "features.0", STAGES[0][3], 3, 2)
    for stage, (expand, kernel, stride, _, out, layers) in enumerate(STAGES):
        m.comment("%sfeatures.%d: %d MBConv%d k%d, -> %d channels, stride %d."
                  % (prefix, stage + 1, layers, expand, kernel, out, stride))
        for block in range(layers):
            x = mbconv(m, x, "%sfeatures.%d.%d" % (prefix, stage + 1, block),
                       expand, kernel, stride if block == 0 else 1, out)
    m.comment("%sfeatures.8: 1x1 conv to %d channels." % (prefix,
                                                           LAST_CHANNELS))
    return conv_bn(m, x, prefix + "features.8", LAST_CHANNELS, 1)


def build(m, clips, prefix="", num_classes=101):
    """Per-frame efficientnet_b0 over (B, T, 3, H, W) clips; the per-frame
    logits are averaged over the clip: (B, num_classes)."""
    hint = prefix.replace(".", "_")
    frames = m.fold_time(clips, hint + "frames")
    x = features(m, frames, prefix)
    m.comment("%savgpool, classifier (Dropout, Linear) per frame; logits "
              "averaged over the clip." % prefix)
    x = m.global_avg_pool(x, hint=hint + "pooled")
    x = m.dropout(x, DROPOUT, hint + "dropped")
    bound = 1.0 / num_classes ** 0.5  # torchvision: U(-1/sqrt(out), ...)
    w = m.param(prefix + "classifier.1.weight", [num_classes, x.shape[1]],
                "uniform", bound)
    b = m.param(prefix + "classifier.1.bias", [num_classes], "zeros")
    x = m.op(hint + "classifier_1", "var.linear %%%s, %%%s, %%%s : %s, %s, %s"
             % (x.name, w.name, b.name, x.type, w.type, b.type),
             [x.shape[0], num_classes])
    x = m.unfold_time(x, clips.shape[1], hint + "per_frame")
    return m.mean_time(x, hint + "logits")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--classes", type=int, default=101)
    args = parser.parse_args()
    m = ModelBuilder([
        "EfficientNet-B0 (torchvision efficientnet_b0) as a per-frame video",
        "model for %d classes: every frame goes through the torchvision "
        "network," % args.classes,
        "the frames' logits are averaged over the clip. Parameter names are",
        "torchvision's state_dict keys; BatchNorm has B0's eps 1e-5 and "
        "momentum",
        "0.1. Generated by models/gen/efficientnet_b0.py.",
        "",
        "Stochastic depth (torchvision drops block k's residual branch per "
        "sample",
        "with p = 0.2 * k / 16) is left out: the dialect has no per-sample "
        "branch",
        "dropout, and evaluation and PyTorch-parity comparisons switch it off",
        "anyway.",
        "",
        "Input: clips (batch, %d frames, 3 channels, %d, %d). The batch "
        "dimension" % (args.frames, args.size, args.size),
        "is dynamic; varc fixes it (--batch for the summary, the micro-batch "
        "when",
        "compiling a training plan).",
    ])
    clips = m.input("clips", [DYN, args.frames, 3, args.size, args.size])
    sys.stdout.write(m.emit(build(m, clips, num_classes=args.classes)))


if __name__ == "__main__":
    main()
