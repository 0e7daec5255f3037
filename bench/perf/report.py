#!/usr/bin/env python3
"""The table of bench/perf: reads what run.sh left in one or more output
folders (MODEL.varrun.log and MODEL.varrun.jsonl from varrun, torch.jsonl
from torch_bench.py) and prints one Markdown row per model; writes
summary.json into the first folder. Standard library only.

  report.py [--warmup N] [--steps N] [--window N] [--hbm-tbps X] DIR...

A folder's settings.json (written by run.sh) overrides the flags for it.
Later folders' results replace earlier ones for the same model and mode."""
import argparse
import glob
import json
import os
import re
import statistics
import sys

PROFILE = re.compile(
    r"(\d+) steps in ([0-9.]+) s \(([0-9.]+) s/step\): (\d+) FLOPs per step, "
    r"([0-9.]+) TFLOP/s, MFU ([0-9.]+)% of ([0-9.e+]+) TFLOP/s")
BYTES = re.compile(r"(\d+) bytes per step \(instruction operands and "
                   r"results\), ([0-9.]+) TB/s")


def read_varrun(log_path, metrics_path, settings):
    """varrun's frames/s (median over the timed windows), peak device
    memory, and the profile's TFLOP/s, MFU and bytes per step."""
    row = {}
    text = open(log_path, errors="replace").read() if os.path.exists(
        log_path) else ""
    errors = [line for line in text.splitlines() if "error" in line]
    if errors:
        row["error"] = errors[-1][:300]
    rates, memory = [], []
    if os.path.exists(metrics_path):
        for line in open(metrics_path):
            record = json.loads(line)
            if record.get("kind") != "train":
                continue
            step = record["step"]
            if step - settings["window"] >= settings["warmup"] and \
                    step <= settings["warmup"] + settings["steps"]:
                rates.append(record["frames_per_s"])
            for key in ("device_mib", "peak_rss_mib"):
                if key in record:
                    memory.append((key, record[key]))
    if rates:
        row["frames_per_s"] = statistics.median(rates)
        row["window_frames_per_s"] = rates
    elif "error" not in row:
        row["error"] = "no timed windows in " + metrics_path
    device = [v for k, v in memory if k == "device_mib"]
    host = [v for k, v in memory if k == "peak_rss_mib"]
    if device:
        row["device_mib"] = max(device)
    if host:
        row["peak_rss_mib"] = max(host)
    m = PROFILE.search(text)
    if m and float(m.group(3)) > 0:
        # From the counts, not the log's rounded rates.
        row["profile_s_per_step"] = float(m.group(3))
        row["flops_per_step"] = int(m.group(4))
        row["tflops"] = row["flops_per_step"] / float(m.group(3)) / 1e12
        row["peak_tflops"] = float(m.group(7))
        row["mfu_percent"] = 100.0 * row["tflops"] / row["peak_tflops"]
    b = BYTES.search(text)
    if b and m and float(m.group(3)) > 0:
        row["bytes_per_step"] = int(b.group(1))
        row["hbm_tbps"] = row["bytes_per_step"] / float(m.group(3)) / 1e12
        row["hbm_share_percent"] = \
            100.0 * row["hbm_tbps"] / settings["hbm_tbps"]
    return row


def fmt(value, suffix=""):
    """Whole numbers from 100 up, else three significant digits."""
    if value is None:
        return "-"
    return ("%.0f" % value if abs(value) >= 100 else "%.3g" % value) + suffix


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--hbm-tbps", type=float, default=3.35,
                        help="the HBM roofline (default 3.35: H100 SXM)")
    args = parser.parse_args()

    models, shapes, torch_rows, varrun_rows = [], {}, {}, {}
    for folder in args.dirs:
        # run.sh records its step counts; the flags stand in for a folder
        # without them.
        settings = {"warmup": args.warmup, "steps": args.steps,
                    "window": args.window, "hbm_tbps": args.hbm_tbps}
        recorded = os.path.join(folder, "settings.json")
        if os.path.exists(recorded):
            settings.update(json.load(open(recorded)))
        listing = os.path.join(folder, "models.txt")
        if os.path.exists(listing):
            for line in open(listing):
                if line.split():
                    name, batch, frames, size = line.split()
                    shapes[name] = "B=%s %sx%sx%s" % (batch, frames, size,
                                                      size)
                    if name not in models:
                        models.append(name)
        for log in sorted(glob.glob(os.path.join(folder, "*.varrun.log"))):
            name = os.path.basename(log)[:-len(".varrun.log")]
            if name not in models:
                models.append(name)
            varrun_rows[name] = read_varrun(
                log, os.path.join(folder, name + ".varrun.jsonl"), settings)
        path = os.path.join(folder, "torch.jsonl")
        if os.path.exists(path):
            for line in open(path):
                record = json.loads(line)
                torch_rows[(record["model"], record["mode"])] = record
                if record["model"] not in models:
                    models.append(record["model"])

    header = ["model", "batch, clip", "varrun frames/s", "eager frames/s",
              "compile frames/s", "varrun/eager", "varrun/best",
              "varrun MiB", "eager MiB alloc/resv", "compile MiB alloc/resv",
              "varrun TFLOP/s", "MFU", "HBM share"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    summary, notes = [], []
    for name in models:
        if name not in varrun_rows and not any(
                (name, mode) in torch_rows for mode in ("eager", "compile")):
            continue  # not run
        ours = varrun_rows.get(name, {})
        # A variant plan (MODEL-NAME, see compile-plans.sh; no model name
        # has a "-") meets the model's PyTorch rows.
        base = name.split("-")[0]
        eager = torch_rows.get((base, "eager"), {})
        compiled = torch_rows.get((base, "compile"), {})
        mine = ours.get("frames_per_s")
        theirs = [r.get("frames_per_s") for r in (eager, compiled)
                  if r.get("frames_per_s")]
        best = max(theirs) if theirs else None

        def memory(record):
            if "peak_allocated_mib" not in record:
                return "-"
            return "%.0f / %.0f" % (record["peak_allocated_mib"],
                                    record["peak_reserved_mib"])

        # Three decimals: a criterion of 1.2x must not pass by rounding
        # (1.196 printed as 1.20x).
        ratio = lambda a, b: "%.3fx" % (a / b) if a and b else "-"
        print("| " + " | ".join([
            name, shapes.get(base, "-"), fmt(mine), fmt(eager.get(
                "frames_per_s")), fmt(compiled.get("frames_per_s")),
            ratio(mine, eager.get("frames_per_s")), ratio(mine, best),
            fmt(ours.get("device_mib", ours.get("peak_rss_mib"))),
            memory(eager), memory(compiled),
            fmt(ours.get("tflops")), fmt(ours.get("mfu_percent"), "%"),
            fmt(ours.get("hbm_share_percent"), "%")]) + " |")
        for who, record in (("varrun", ours), ("eager", eager),
                            ("compile", compiled)):
            if record.get("error"):
                notes.append("%s %s: %s" % (name, who, record["error"]))
        if compiled.get("compile_s") is not None:
            notes.append("%s compile: first step (compilation) %.1f s" %
                         (name, compiled["compile_s"]))
        summary.append({"model": name, "varrun": ours, "eager": eager,
                        "compile": compiled})
    for note in notes:
        print("- " + note)
    with open(os.path.join(args.dirs[0], "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
