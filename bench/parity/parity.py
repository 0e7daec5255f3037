#!/usr/bin/env python3
"""Numerical parity of VAR's training step with PyTorch: the same weights
and batch go through a PyTorch model and through varc + varrun; logits
(training and evaluation mode), loss and every parameter gradient must agree.
Needs torch, torchvision (for the torchvision models) and safetensors.

  parity.py --model tiny [--micro-batch 4] [--bin build/bin] [--plan PLAN.fb]

Exits 1 when a comparison fails, 2 when the run cannot be set up."""
import argparse
import copy
import os
import re
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Our .mlir for each model the script knows.
MODEL_FILES = {
    "tiny": "test/varrun/Inputs/tiny_cnn.mlir",
    "mobilenet_v2": "models/mobilenet_v2.mlir",
    "efficientnet_b0": "models/efficientnet_b0.mlir",
    "vgg11_bn": "models/vgg11_bn.mlir",
    "r2plus1d_18": "models/r2plus1d_18.mlir",
    "cnn_lstm": "models/cnn_lstm.mlir",
}

# Tolerances: loss and logits relative, gradients relative to each
# tensor's largest magnitude (elementwise relative error is meaningless
# where a gradient crosses zero). A gradient that is zero in exact
# arithmetic (a conv bias right before a training-mode BatchNorm) has a
# reference of rounding noise; its scale is floored at GRAD_FLOOR times the
# largest gradient of the model.
LOSS_RTOL = 1e-4
LOGITS_RTOL = 1e-4
GRAD_RTOL = 1e-3
GRAD_FLOOR = 1e-4


class TinyCnn(nn.Module):
    """test/varrun/Inputs/tiny_cnn.mlir, per frame."""

    def __init__(self, num_classes=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


class PerFrame(nn.Module):
    """Our video wrapper: the backbone on every frame, features averaged
    over time, then the head (the backbone's own for torchvision models)."""

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, clips):
        b, t = clips.shape[:2]
        y = self.backbone(clips.flatten(0, 1))
        y = y.view(b, t, -1).mean(1)
        return self.head(y) if self.head is not None else y


class Clip3d(nn.Module):
    """R(2+1)D takes (B, C, T, H, W)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, clips):
        return self.model(clips.permute(0, 2, 1, 3, 4))


def build(name, classes):
    """The model to run and the module whose state_dict has our names."""
    if name == "tiny":
        net = TinyCnn(classes)
        return PerFrame(net, net.fc), net
    import torchvision.models as tvm
    if name == "r2plus1d_18":
        net = tvm.video.r2plus1d_18(num_classes=classes)
        return Clip3d(net), net
    if name == "cnn_lstm":
        raise SystemExit("parity: cnn_lstm has no torchvision definition "
                         "here yet")
    net = getattr(tvm, name)(num_classes=classes)
    # Per-frame: the whole torchvision model (its classifier per frame) is
    # linear after pooling, so averaging logits over time equals
    # classifying the averaged features, as our models do.
    return PerFrame(net, None), net


def model_shapes(path):
    text = open(path).read()
    m = re.search(r"func\.func @forward\(%\w+: tensor<\?x([0-9x]+)xf32>\)"
                  r"\s*->\s*tensor<\?x(\d+)xf32>", text)
    if not m:
        raise SystemExit("parity: cannot read the input shape of " + path)
    return [int(d) for d in m.group(1).split("x")], int(m.group(2)), text


def without_dropout(text):
    """Our dropout draws its own mask, which PyTorch cannot reproduce: both
    sides run with p = 0 (ours: a copy of the model; PyTorch: every
    nn.Dropout's p set to 0)."""
    return re.sub(r"(var\.dropout\s+%[\w.]+\s+p\s+)[-+0-9.eE]+", r"\g<1>0.0",
                  text)


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit("parity: failed (%d): %s" % (done.returncode,
                                                      " ".join(cmd)))
    return done.stdout


def rel(ours, ref, floor=1e-12):
    ours, ref = ours.double().flatten(), ref.double().flatten()
    scale = ref.abs().max().item() if ref.numel() else 0.0
    return (ours - ref).abs().max().item() / max(scale, floor)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", choices=sorted(MODEL_FILES))
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"),
                        help="folder with varc and varrun")
    parser.add_argument("--plan", help="a plan compiled beforehand with "
                        "varc --precision=fp32 --zero-stage=0 --optimizer=sgd "
                        "--micro-batch=B (for machines without varc)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="keep the files here")
    args = parser.parse_args()

    mlir = os.path.join(ROOT, MODEL_FILES[args.model])
    if not os.path.exists(mlir):
        print("parity: %s has no model file %s yet" % (args.model, mlir))
        return 2
    input_shape, classes, text = model_shapes(mlir)
    work = args.workdir or tempfile.mkdtemp(prefix="parity-")
    os.makedirs(work, exist_ok=True)
    path = lambda name: os.path.join(work, name)

    torch.manual_seed(args.seed)
    model, named = build(args.model, classes)
    for module in model.modules():
        # Dropout and stochastic depth (EfficientNet) draw random masks.
        if isinstance(module, nn.Dropout) or \
                type(module).__name__ == "StochasticDepth":
            module.p = 0.0
    state = {k: v.detach().float().contiguous()
             for k, v in named.state_dict().items()}
    save_file(state, path("weights.safetensors"))
    b = args.micro_batch
    clips = torch.randn([b] + input_shape)
    labels = torch.randint(0, classes, (b,))
    save_file({"input": clips, "labels": labels}, path("batch.safetensors"))

    # Ours: one step at lr 0 and, before it, the evaluation-mode forward.
    plan = args.plan
    if not plan:
        plan = path("plan.fb")
        with open(path("model.mlir"), "w") as f:
            f.write(without_dropout(text))
        run([os.path.join(args.bin, "varc"), path("model.mlir"),
             "--precision=fp32", "--zero-stage=0", "--optimizer=sgd",
             "--weight-decay=0", "--micro-batch=%d" % b, "-o", plan])
    run([os.path.join(args.bin, "varrun"), plan, "--lr=0",
         "--init-weights=" + path("weights.safetensors"),
         "--input-file=" + path("batch.safetensors"),
         "--dump-forward=" + path("forward.safetensors"),
         "--dump-step=" + path("step.safetensors")])
    ours = load_file(path("step.safetensors"))
    ours_eval = load_file(path("forward.safetensors"))["logits"]

    # PyTorch itself in float32, to show how far float32 arithmetic alone
    # lands from the float64 reference on this model.
    model32 = copy.deepcopy(model)
    model32.train()
    loss32 = F.cross_entropy(model32(clips), labels)
    loss32.backward()
    named32 = dict(model32.named_parameters())

    # PyTorch in float64 on the same f32 values: the reference.
    model = model.double()
    model.eval()
    with torch.no_grad():
        ref_eval = model(clips.double())
    model.train()
    logits = model(clips.double())
    loss = F.cross_entropy(logits, labels)
    loss.backward()

    rows = [("loss", rel(ours["loss"], loss.detach()), LOSS_RTOL,
             rel(loss32.detach(), loss.detach())),
            ("logits (train)", rel(ours["logits"], logits.detach()),
             LOGITS_RTOL, None),
            ("logits (eval)", rel(ours_eval, ref_eval), LOGITS_RTOL, None)]
    if not torch.equal(ours["input"], clips) or not torch.equal(
            ours["labels"].long(), labels):
        rows.append(("input/labels as fed", float("inf"), 0.0, None))
    grads = {n: p.grad for n, p in named.named_parameters()}
    floor = GRAD_FLOOR * max(g.abs().max().item() for g in grads.values())
    for name in sorted(set(grads) | {k[5:] for k in ours if
                                     k.startswith("grad.")}):
        if name not in grads or "grad." + name not in ours:
            rows.append(("grad " + name + " (missing)", float("inf"),
                         GRAD_RTOL, None))
            continue
        torch32 = None
        key = name if name in named32 else None
        if key is None:  # wrapped models prefix their parameter names
            key = next((k for k in named32 if k.endswith("." + name)), None)
        if key is not None and named32[key].grad is not None:
            torch32 = rel(named32[key].grad, grads[name], floor)
        rows.append(("grad " + name,
                     rel(ours["grad." + name], grads[name], floor),
                     GRAD_RTOL, torch32))

    print("parity: %s, micro-batch %d, input %s, %d classes, torch %s" %
          (args.model, b, input_shape, classes, torch.__version__))
    print("%-40s %12s %12s %10s  %s" % ("quantity", "rel. error",
                                        "torch fp32", "tolerance", "result"))
    failed = 0
    worst32 = 0.0
    for name, err, tol, err32 in rows:
        ok = err <= tol
        failed += not ok
        if err32 is not None:
            worst32 = max(worst32, err32)
        print("%-40s %12.3e %12s %10.0e  %s" % (
            name, err, "-" if err32 is None else "%.3e" % err32, tol,
            "ok" if ok else "FAIL"))
    print("parity: PyTorch's own float32 gradients are within %.3e of the "
          "float64 reference" % worst32)
    print("parity: %s (%d of %d failed); files in %s" %
          ("FAILED" if failed else "passed", failed, len(rows), work))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
