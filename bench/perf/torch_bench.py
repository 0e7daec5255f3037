#!/usr/bin/env python3
"""PyTorch's side of bench/perf: the training step of each zoo model, as
PyTorch users run it (BF16 autocast, channels-last, fused AdamW, random
input, 101 classes), eager and under torch.compile, timed on one device.
The models are bench/parity/parity.py's, the same architectures as ours.

  torch_bench.py [--models M,...] [--modes eager,compile] [--steps N]
                 [--warmup N] [--window N] [--device cuda|cpu]
                 [--batch B] [--frames T] [--size S] [--precision P]
                 [--out FILE]

Prints one JSON object per (model, mode) on stdout (and appends it to
--out): frames/s (median over windows of --window steps), peak memory,
compile time, or the error that stopped that run."""
import argparse
import json
import os
import statistics
import sys
import time
import traceback

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "parity"))
from parity import build  # noqa: E402

# model: (batch, frames, size) of the benchmark; the clip is
# (frames, 3, size, size). compile-plans.sh compiles ours at the same.
MODELS = {
    "mobilenet_v2": (16, 8, 224),
    "efficientnet_b0": (16, 8, 224),
    "vgg11_bn": (8, 8, 224),
    "cnn_lstm": (16, 8, 224),
    "r2plus1d_18": (16, 16, 112),
}
CLASSES = 101


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(name, batch, frames, size, device, mode, seed, precision,
              contiguous=False):
    """The model, its optimizer and a closure running one training step on
    a fixed random batch."""
    torch.manual_seed(seed)
    model, inner = build(name, CLASSES)
    if name == "r2plus1d_18":
        # parity's Clip3d permutes (B, T, C, H, W) clips, which leaves them
        # in no channels-last layout: feed torchvision's (B, C, T, H, W)
        # model directly, channels-last-3d.
        model = inner
        layout = (torch.contiguous_format if contiguous
                  else torch.channels_last_3d)
        clips = torch.randn(batch, 3, frames, size, size, device=device)
        clips = clips.contiguous(memory_format=layout)
    else:
        # Frames (B*T, C, H, W) channels-last, viewed as (B, T, C, H, W):
        # the models' flatten(0, 1) gives the channels-last frames back.
        layout = (torch.contiguous_format if contiguous
                  else torch.channels_last)
        clips = torch.randn(batch * frames, 3, size, size, device=device)
        clips = clips.contiguous(memory_format=layout).view(
            batch, frames, 3, size, size)
    labels = torch.randint(0, CLASSES, (batch,), device=device)
    model = model.to(device).to(memory_format=layout).train()
    kwargs = {"fused": True} if device.type == "cuda" else {}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3,
                                  weight_decay=0.01, **kwargs)
    forward = torch.compile(model) if mode == "compile" else model

    def step():
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                            enabled=precision == "bf16"):
            loss = F.cross_entropy(forward(clips), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return model, optimizer, step


def measure(name, mode, args, device):
    batch, frames, size = MODELS[name]
    batch = args.batch or batch
    frames = args.frames or frames
    size = args.size or size
    result = {"model": name, "mode": mode, "batch": batch, "frames": frames,
              "size": size, "classes": CLASSES, "device": str(device),
              "precision": args.precision,
              "deterministic": args.deterministic,
              "contiguous": args.contiguous,
              "torch": torch.__version__}
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    if mode == "compile":
        if not hasattr(torch, "compile"):
            result["error"] = "torch %s has no torch.compile" % \
                torch.__version__
            return result
        torch._dynamo.reset()
    model = optimizer = step = None
    try:
        model, optimizer, step = make_step(name, batch, frames, size, device,
                                           mode, args.seed, args.precision,
                                           args.contiguous)
        # The first step: compilation (compile mode), cuDNN's algorithm
        # search, the optimizer's state allocation.
        begin = time.perf_counter()
        step()
        synchronize(device)
        result["first_step_s"] = time.perf_counter() - begin
        if mode == "compile":
            result["compile_s"] = result["first_step_s"]
        for _ in range(max(0, args.warmup - 1)):
            step()
        synchronize(device)
        rates, done = [], 0
        while done < args.steps:
            count = min(args.window, args.steps - done)
            begin = time.perf_counter()
            for _ in range(count):
                step()
            synchronize(device)
            seconds = time.perf_counter() - begin
            rates.append(count * batch * frames / seconds)
            done += count
        result["frames_per_s"] = statistics.median(rates)
        result["clips_per_s"] = result["frames_per_s"] / frames
        result["step_ms"] = 1e3 * batch * frames / result["frames_per_s"]
        result["window_frames_per_s"] = [round(r, 1) for r in rates]
        result["steps"] = args.steps
        if device.type == "cuda":
            result["peak_allocated_mib"] = \
                torch.cuda.max_memory_allocated(device) / 2**20
            result["peak_reserved_mib"] = \
                torch.cuda.max_memory_reserved(device) / 2**20
    except Exception as error:  # a model that fails must not stop the rest
        lines = str(error).strip().splitlines() or [""]
        result["error"] = "%s: %s" % (type(error).__name__, lines[0][:300])
        result["traceback"] = traceback.format_exc()[-2000:]
    finally:
        del model, optimizer, step
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated, of: " + ", ".join(MODELS))
    parser.add_argument("--modes", default="eager,compile",
                        help="comma-separated: eager, compile")
    parser.add_argument("--steps", type=int, default=30,
                        help="timed steps (default 30)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="steps before timing, the first included "
                        "(default 10)")
    parser.add_argument("--window", type=int, default=5,
                        help="steps per timed window; frames/s is the "
                        "median of the windows' (default 5)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, help="override every model's")
    parser.add_argument("--frames", type=int, help="override every model's")
    parser.add_argument("--size", type=int, help="override every model's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=["bf16", "fp32"],
                        default="bf16",
                        help="bf16: autocast (the benchmark); fp32: none "
                        "(old CPU builds lack some BF16 backward kernels)")
    parser.add_argument("--no-cudnn-benchmark", action="store_true",
                        help="leave torch.backends.cudnn.benchmark off")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic algorithms only (cuDNN and "
                        "torch.use_deterministic_algorithms), as varrun runs")
    parser.add_argument("--contiguous", action="store_true",
                        help="NCHW / NCDHW tensors instead of channels-last")
    parser.add_argument("--out", help="also append the JSON lines here")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    modes = [m for m in args.modes.split(",") if m]
    for name in models:
        if name not in MODELS:
            parser.error("unknown model %s" % name)
    for mode in modes:
        if mode not in ("eager", "compile"):
            parser.error("unknown mode %s" % mode)
    if args.steps < 1 or args.warmup < 1 or args.window < 1:
        parser.error("--steps, --warmup and --window must be positive")
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    if args.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True)
    for name in models:
        for mode in modes:
            result = measure(name, mode, args, device)
            line = json.dumps(result)
            print(line, flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(line + "\n")
            summary = result.get("error") or "%.1f frames/s" % \
                result["frames_per_s"]
            print("torch_bench: %s %s: %s" % (name, mode, summary),
                  file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
