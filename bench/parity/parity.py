#!/usr/bin/env python3
"""Numerical parity of VAR's training step with PyTorch: the same weights
and batch go through a PyTorch model and through varc + varrun, in a
training-mode step and an evaluation-mode (frozen batch norm) step; logits,
loss and every parameter gradient must agree with PyTorch in float64.
Needs torch and torchvision; safetensors if installed (else
safetensors_lite.py). See README.md.

  parity.py --model M [--micro-batch B] [--smooth] [--bin build/bin]
            [--plans DIR | --compile-only DIR]

Exits 1 when a comparison fails."""
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
try:
    from safetensors.torch import load_file, save_file
except ImportError:  # e.g. Debian, which packages PyTorch but not this
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from safetensors_lite import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Our .mlir for each model the script knows.
MODEL_FILES = {
    "tiny": "test/varrun/Inputs/tiny_cnn.mlir",
    "mobilenet_v2": "models/mobilenet_v2.mlir",
    "efficientnet_b0": "models/efficientnet_b0.mlir",
    "vgg11_bn": "models/vgg11_bn.mlir",
    "r2plus1d_18": "models/r2plus1d_18.mlir",
    "cnn_lstm": "models/cnn_lstm.mlir",
    "ensemble": "models/ensemble.mlir",
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
# Past a kink (see README.md) our gradient error and the float32 limit's
# samples are independent draws of the same kind: ours may land past the
# largest of three samples, but not far. Twice the limit still fails a
# real error, which moves gradients by far more than rounding does.
LIMIT_FACTOR = 2.0


class TinyCnn(nn.Module):
    """test/varrun/Inputs/tiny_cnn.mlir, per frame."""

    def __init__(self, num_classes=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(8, num_classes)
        self.act1, self.act2 = nn.ReLU(), nn.ReLU()  # modules: --smooth

    def forward(self, x):
        x = self.act1(self.conv1(x))
        x = self.act2(self.conv2(x))
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


class CnnLstm(nn.Module):
    """models/cnn_lstm.mlir: MobileNetV2 features per frame, global average
    pool, LSTM(1280 -> 512) over the frames, linear on the last step."""

    def __init__(self, classes):
        super().__init__()
        import torchvision.models as tvm
        self.features = tvm.mobilenet_v2().features
        self.lstm = nn.LSTM(1280, 512, batch_first=True)
        self.fc = nn.Linear(512, classes)

    def forward(self, clips):
        b, t = clips.shape[:2]
        y = self.features(clips.flatten(0, 1))
        y = F.adaptive_avg_pool2d(y, 1).flatten(1).view(b, t, -1)
        sequence, _ = self.lstm(y)
        return self.fc(sequence[:, -1])


class Ensemble(nn.Module):
    """models/ensemble.mlir: per-frame MobileNetV2 and EfficientNet-B0,
    each averaged over the clip; the mean of the two branches' logits."""

    def __init__(self, classes):
        super().__init__()
        import torchvision.models as tvm
        self.mobilenet = tvm.mobilenet_v2(num_classes=classes)
        self.efficientnet = tvm.efficientnet_b0(num_classes=classes)

    def forward(self, clips):
        return 0.5 * (PerFrame(self.mobilenet, None)(clips) +
                      PerFrame(self.efficientnet, None)(clips))


def build(name, classes):
    """The model to run and the module whose state_dict has our names."""
    if name == "tiny":
        net = TinyCnn(classes)
        return PerFrame(net, net.fc), net
    if name == "cnn_lstm":
        net = CnnLstm(classes)
        return net, net
    if name == "ensemble":
        net = Ensemble(classes)
        return net, net
    import torchvision.models as tvm
    if name == "r2plus1d_18":
        net = tvm.video.r2plus1d_18(num_classes=classes)
        return Clip3d(net), net
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


def smoothed(text):
    """The --smooth variant of our model: SiLU for ReLU and ReLU6, average
    for max pooling (same window)."""
    text = re.sub(r"var\.relu6? ", "var.silu ", text)
    return text.replace("var.max_pool ", "var.avg_pool ")


def smooth_modules(module):
    """The --smooth variant of a PyTorch model, in place."""
    for name, child in module.named_children():
        if isinstance(child, (nn.ReLU, nn.ReLU6)):
            setattr(module, name, nn.SiLU())
        elif isinstance(child, nn.MaxPool2d):
            setattr(module, name, nn.AvgPool2d(child.kernel_size, child.stride,
                                               child.padding))
        else:
            smooth_modules(child)


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


def step_grads(model, clips, labels, training, device):
    """Logits, loss and each parameter's gradient (by the name in `model`'s
    state_dict, wrapper prefixes removed) of one step in training mode
    (batch statistics) or evaluation mode (running statistics), computed on
    `device` and returned on the CPU."""
    model.to(device).train(training)
    for module in model.modules():
        # One-layer LSTMs behave the same in both modes, and cuDNN only
        # differentiates one in training mode.
        if isinstance(module, nn.LSTM):
            module.train()
    logits = model(clips.to(device))
    loss = F.cross_entropy(logits, labels.to(device))
    loss.backward()
    grads = {}
    for name, p in model.named_parameters():
        grads[strip_wrapper(name)] = p.grad.detach().cpu()
    return logits.detach().cpu(), loss.detach().cpu(), grads


def strip_wrapper(name):
    """PerFrame/Clip3d wrap torchvision models: drop their prefixes."""
    for prefix in ("backbone.", "model."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


# The two kinds of step compared: a training step (batch norm on batch
# statistics) and one in evaluation mode (running statistics, frozen), the
# plan compiled with varc --freeze-batch-norm.
MODES = {"train": [], "eval": ["--freeze-batch-norm"]}


def plan_name(args, mode):
    return "%s%s-%s-b%d.fb" % (args.model, "-smooth" if args.smooth else "",
                              mode, args.micro_batch)


def compile_plan(args, text, mode, out):
    """varc on our model as the comparison needs it: no dropout, --smooth
    applied, FP32, stage 0, plain SGD (the step runs at lr 0)."""
    source = out + ".mlir"
    with open(source, "w") as f:
        f.write(without_dropout(smoothed(text) if args.smooth else text))
    run([os.path.join(args.bin, "varc"), source, "--precision=fp32",
         "--zero-stage=0", "--optimizer=sgd", "--weight-decay=0",
         "--micro-batch=%d" % args.micro_batch, "-o", out] + MODES[mode])
    os.remove(source)


def compare(args, mode, ours, model, clips, labels):
    """Rows (quantity, error, tolerance, PyTorch float32's error) of one
    step against the float64 reference, and the float32 limit of this
    model's gradients in this mode."""
    training = mode == "train"
    device = args.torch_device
    logits, loss, grads = step_grads(copy.deepcopy(model).double(),
                                     clips.double(), labels, training, device)
    floor = GRAD_FLOOR * max(g.abs().max().item() for g in grads.values())
    # How far float32 arithmetic alone moves the gradients: PyTorch in
    # float32, and the float64 reference on inputs nudged as far as our
    # float32 forward strays from it (the logits' relative error, at least
    # one rounding, 2^-24), two draws. Near a ReLU or max-pool kink a change
    # that small flips which side an activation falls on; training-mode
    # batch norm over few values amplifies the flip.
    _, loss32, grads32 = step_grads(copy.deepcopy(model), clips, labels,
                                    training, device)
    nudge = max(2.0 ** -24, rel(ours["logits"], logits))
    generator = torch.Generator().manual_seed(args.seed + 1)
    limits = {"PyTorch float32":
              max(rel(grads32[n], grads[n], floor) for n in grads)}
    for draw in range(2):
        nudged = clips.double() * (1 + nudge * torch.randn(
            clips.shape, generator=generator, dtype=torch.float64))
        _, _, moved = step_grads(copy.deepcopy(model).double(), nudged,
                                 labels, training, device)
        limits["float64, input nudged %.1e (%d)" % (nudge, draw + 1)] = max(
            rel(moved[n], grads[n], floor) for n in grads)

    rows = [(mode + " loss", rel(ours["loss"], loss), LOSS_RTOL,
             rel(loss32, loss)),
            (mode + " logits", rel(ours["logits"], logits), LOGITS_RTOL,
             None)]
    for name in sorted(set(grads) | {k[5:] for k in ours if
                                     k.startswith("grad.")}):
        if name not in grads or "grad." + name not in ours:
            rows.append(("%s grad %s (missing)" % (mode, name), float("inf"),
                         GRAD_RTOL, None))
            continue
        rows.append(("%s grad %s" % (mode, name),
                     rel(ours["grad." + name], grads[name], floor),
                     GRAD_RTOL, rel(grads32[name], grads[name], floor)))
    return rows, limits


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", choices=sorted(MODEL_FILES))
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"),
                        help="folder with varc and varrun")
    parser.add_argument("--plans", help="folder of plans written beforehand "
                        "by --compile-only (for machines without varc)")
    parser.add_argument("--compile-only", metavar="DIR",
                        help="write the plans this comparison runs into DIR "
                        "and stop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smooth", action="store_true",
                        help="swap ReLU/ReLU6 for SiLU and max pooling for "
                        "average pooling on both sides: without kinks "
                        "float32 rounding cannot flip an activation, and "
                        "every gradient must meet the 1e-3 bound itself")
    parser.add_argument("--torch-device", default="cpu",
                        help="where PyTorch computes (cuda: float64 3-D "
                        "convolutions are slow on a CPU; TF32 is switched "
                        "off)")
    parser.add_argument("--workdir", help="keep the files here")
    args = parser.parse_args()

    mlir = os.path.join(ROOT, MODEL_FILES[args.model])
    input_shape, classes, text = model_shapes(mlir)
    if args.compile_only:
        os.makedirs(args.compile_only, exist_ok=True)
        for mode in MODES:
            compile_plan(args, text, mode,
                         os.path.join(args.compile_only, plan_name(args, mode)))
        return 0
    work = args.workdir or tempfile.mkdtemp(prefix="parity-")
    os.makedirs(work, exist_ok=True)
    path = lambda name: os.path.join(work, name)

    # Float32 means float32: no TF32 in convolutions or matrix products.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(args.seed)
    model, named = build(args.model, classes)
    if args.smooth:
        smooth_modules(model)
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

    # Ours: one step at lr 0 in each mode; before the training step, the
    # plan's evaluation forward.
    rows, limits = [], {}
    for mode in MODES:
        plan = path(plan_name(args, mode))
        if args.plans:
            plan = os.path.join(args.plans, plan_name(args, mode))
        else:
            compile_plan(args, text, mode, plan)
        dump = ["--dump-forward=" + path("forward.safetensors")] \
            if mode == "train" else []
        run([os.path.join(args.bin, "varrun"), plan, "--lr=0",
             "--init-weights=" + path("weights.safetensors"),
             "--input-file=" + path("batch.safetensors"),
             "--dump-step=" + path("step-%s.safetensors" % mode)] + dump)
        ours = load_file(path("step-%s.safetensors" % mode))
        if not torch.equal(ours["input"], clips) or not torch.equal(
                ours["labels"].long(), labels):
            rows.append(("%s input/labels as fed" % mode, float("inf"), 0.0,
                         None))
        mode_rows, limits[mode] = compare(args, mode, ours, model, clips,
                                          labels)
        rows += mode_rows
    reference = copy.deepcopy(model).double().to(args.torch_device).eval()
    with torch.no_grad():
        ref_eval = reference(clips.double().to(args.torch_device)).cpu()
    rows.insert(0, ("forward logits", rel(load_file(path(
        "forward.safetensors"))["logits"], ref_eval), LOGITS_RTOL, None))

    print("parity: %s%s, micro-batch %d, input %s, %d classes, torch %s" %
          (args.model, " (smooth)" if args.smooth else "", b, input_shape,
           classes, torch.__version__))
    print("%-50s %10s %10s %8s  %s" % ("quantity", "rel. error", "torch fp32",
                                       "tol.", "result"))
    failed = 0
    at_limit = {mode: 0 for mode in MODES}
    worst = {mode: 0.0 for mode in MODES}
    for name, err, tol, err32 in rows:
        mode = name.split(" ")[0]
        is_grad = mode in MODES and name.split(" ")[1] == "grad"
        if is_grad:
            worst[mode] = max(worst[mode], err)
        if err <= tol:
            verdict = "ok"
        elif is_grad and not args.smooth and err <= LIMIT_FACTOR * max(
                limits[mode].values()):
            verdict = "ok (float32 limit)"
            at_limit[mode] += 1
        else:
            verdict = "FAIL"
            failed += 1
        print("%-50s %10.3e %10s %8.0e  %s" % (
            name, err, "-" if err32 is None else "%.3e" % err32, tol,
            verdict))
    for mode in MODES:
        print("parity: %s mode: worst gradient %.3e; %d gradients past %.0e "
              "but within %g x the float32 limit %.3e (%s)" % (
                  mode, worst[mode], at_limit[mode], GRAD_RTOL, LIMIT_FACTOR,
                  max(limits[mode].values()),
                  ", ".join("%s %.3e" % kv for kv in limits[mode].items())))
    print("parity: %s (%d of %d failed); files in %s" %
          ("FAILED" if failed else "passed", failed, len(rows), work))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
