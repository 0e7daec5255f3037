"""End-to-end: varrun under a real Slurm cluster on loopback (munged,
slurmctld and two slurmd as nodes, see loopback_cluster.py).

  * `srun -n 4 --overcommit varrun plan.fb` on one node and
    `srun -N 2 --ntasks-per-node=2 varrun plan.fb` on two, with no varrun
    flags for the ranks, train exactly the weights that
    `varrun --nproc-per-node=4` trains;
  * an sbatch job whose steps run one after the other: step 0 trains and
    writes its weights, step 1 starts from them, step 2 trains the first half
    of that run with a checkpoint, step 3 resumes from it and must end on
    step 0's losses and weights (JOB_STEPS);
  * scripts/slurm/{single,multi}-node.sbatch and `var-launch` with NODES
    print the loss of the same run started locally by var-launch.

Exit code 77 (ctest's SKIP_RETURN_CODE) where the cluster cannot start here,
with the reason; 1 on any failure.

usage: srun_varrun_test.py --bin-dir BUILD/bin --source-dir REPO
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback_cluster  # noqa: E402

SKIP = 77

# The tiny model's run that every launcher must reproduce bit for bit.
TRAIN = ["--steps=20", "--log-every=10", "--train-size=256", "--eval-size=64",
         "--comm-timeout=30"]
# The basic CNN through var-launch and the sbatch examples: 2 ranks, 2 steps.
# Every strategy trains the same weights (ZeRO equivalence), so every run
# prints the losses of the local ddp run.
BASIC_CNN_VARRUN = ["--train-size=4", "--eval-size=2", "--log-every=1",
                    "--comm-timeout=30"]

# The steps of one sbatch job, run in order: each is `srun varrun PLAN
# FLAGS` (WORK is the job's folder) and a check of its output and files,
# check(output, work, ref) -> (ok, what), where `ref` holds the losses and
# weights file of the --nproc-per-node=4 run.
def _same_run(output, work, ref):
    return (losses(output) == ref["losses"] and
            same_bytes(os.path.join(work, "step-0.safetensors"), ref["weights"]),
            "trained the weights of --nproc-per-node=4")


def _started_from_step_0(output, work, ref):
    return ("varrun: loaded %s/step-0.safetensors" % work in output and
            same_bytes(os.path.join(work, "step-1.safetensors"),
                       os.path.join(work, "step-0.safetensors")),
            "started from step 0's weights")


def _resumed(output, work, ref):
    return ("varrun: --resume: resuming from %s/ckpt/step-10" % work in output
            and losses(output) == ref["losses"][1:] and
            same_bytes(os.path.join(work, "step-3.safetensors"),
                       ref["weights"]),
            "resumed step 2's checkpoint and ended on the uninterrupted "
            "run's losses and weights")


FIRST_HALF = [f for f in TRAIN if not f.startswith("--steps=")] + \
    ["--steps=10"]

JOB_STEPS = [
    # Trains the reference run and writes its weights.
    (TRAIN + ["--export-weights=WORK/step-0.safetensors"], _same_run),
    # Starts from them in a new step (the ranks re-shard the file), trains
    # nothing and writes them again.
    (["--init-weights=WORK/step-0.safetensors", "--steps=0", "--eval-size=64",
      "--comm-timeout=30", "--export-weights=WORK/step-1.safetensors"],
     _started_from_step_0),
    # The first half of the reference run, checkpointed at its end...
    (FIRST_HALF + ["--checkpoint-dir=WORK/ckpt", "--checkpoint-every=10"],
     lambda output, work, ref: (
         os.path.exists(os.path.join(work, "ckpt", "step-10",
                                     "checkpoint.txt")),
         "wrote the checkpoint of step 10")),
    # ... and the second, resumed from it in the next job step.
    (TRAIN + ["--checkpoint-dir=WORK/ckpt", "--resume",
              "--export-weights=WORK/step-3.safetensors"], _resumed),
]


class Failure(Exception):
    pass


def check(condition, message, output=""):
    if not condition:
        raise Failure(message + ("\n--- output:\n" + output if output else ""))
    print("ok: " + message)


def run(argv, timeout=120, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise Failure("%s exited with %d\n%s%s" % (
            " ".join(argv), result.returncode, result.stdout, result.stderr))
    return result


def losses(text):
    """The step lines' step, loss and accuracy (clips/s left out)."""
    return re.findall(r"^step (\d+/\d+)  loss (\S+)  train accuracy (\S+)",
                      text, re.M)


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--source-dir", required=True)
    args = parser.parse_args()
    args.bin_dir = os.path.abspath(args.bin_dir)
    args.source_dir = os.path.abspath(args.source_dir)
    varc = os.path.join(args.bin_dir, "varc")
    varrun = os.path.join(args.bin_dir, "varrun")
    launch = os.path.join(args.source_dir, "scripts", "var-launch")
    sbatch_dir = os.path.join(args.source_dir, "scripts", "slurm")

    try:
        loopback_cluster.check_can_start()
    except loopback_cluster.CannotStart as reason:
        print("SKIPPED: cannot start a Slurm cluster here: %s" % reason)
        return SKIP
    nodes = loopback_cluster.usable_node_names(2)
    if not nodes:
        print("SKIPPED: neither this host's name nor localhost resolves to "
              "127.0.0.1")
        return SKIP

    # ctest's timeout and Ctrl-C: tear the cluster down on the way out.
    def interrupted(number, frame):
        print("FAILED: interrupted by signal %d; tearing down" % number)
        sys.exit(128 + number)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupted)
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="var-slurm-work-")
    os.chmod(work, 0o755)
    try:
        plan = os.path.join(work, "tiny.fb")
        run([varc, os.path.join(args.source_dir, "test", "varrun", "Inputs",
                                "tiny_cnn.mlir"),
             "--zero-stage=2", "--micro-batch=2", "-o", plan])
        ref_weights = os.path.join(work, "local.safetensors")
        local = run([varrun, plan, "--nproc-per-node=4"] + TRAIN +
                    ["--export-weights=" + ref_weights])
        ref_losses = losses(local.stdout)
        check(len(ref_losses) == 2, "varrun --nproc-per-node=4 trained 20 steps",
              local.stdout)
        launch_env = dict(os.environ, VAR_BIN_DIR=args.bin_dir)
        local_cnn = run([launch, "--work-dir", os.path.join(work, "cnn-local"),
                         "basic_cnn", "ddp", "2", "1", "1", "--"] +
                        BASIC_CNN_VARRUN,
                        env=launch_env)
        cnn_losses = losses(local_cnn.stdout)
        check(len(cnn_losses) == 2, "var-launch basic_cnn ddp 2 1 1 ran locally",
              local_cnn.stdout + local_cnn.stderr)

        with loopback_cluster.LoopbackCluster(nodes) as cluster:
            print("cluster of %s up after %.1f s" % (
                ",".join(nodes), time.monotonic() - started))
            try:
                run_on_cluster(cluster, work, plan, varrun, launch, sbatch_dir,
                               args, ref_losses, ref_weights, cnn_losses)
            except Failure as failure:
                raise Failure("%s\n--- daemon logs:\n%s" % (failure, cluster.logs()))
        check(not cluster.leftovers, "no process left after tear-down (had to "
              "end %s)" % (cluster.leftovers or "none"))
    except (Failure, RuntimeError, subprocess.TimeoutExpired) as failure:
        print("FAILED: %s" % failure)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASSED in %.1f s" % (time.monotonic() - started))
    return 0


def run_on_cluster(cluster, work, plan, varrun, launch, sbatch_dir, args,
                   ref_losses, ref_weights, cnn_losses):
    def srun_varrun(placement, name):
        weights = os.path.join(work, name + ".safetensors")
        result = cluster.run(["srun"] + placement + [varrun, plan] + TRAIN +
                             ["--export-weights=" + weights], timeout=60)
        output = result.stdout + result.stderr
        check(result.returncode == 0, "srun %s varrun exited 0" %
              " ".join(placement), output)
        check("varrun: 4 rank(s) (slurm)" in result.stdout,
              "4 ranks read their place from Slurm", output)
        check(losses(result.stdout) == ref_losses,
              "the same losses as --nproc-per-node=4", output)
        check(same_bytes(weights, ref_weights),
              "the same weights as --nproc-per-node=4, bit for bit")

    srun_varrun(["-N", "1", "-n", "4", "--overcommit"], "one-node")
    if len(cluster.nodes) > 1:
        srun_varrun(["-N", "2", "--ntasks-per-node=2"], "two-nodes")
    else:
        print("NOTE: only %s resolves to loopback: the two-node steps are "
              "left out" % cluster.nodes[0])

    # One job, several steps in sequence.
    script = ["#!/bin/bash", "set -e"]
    for i, (flags, _) in enumerate(JOB_STEPS):
        flags = [f.replace("WORK", work) for f in flags]
        script.append("srun %s %s %s > %s/step-%d.out 2>&1" % (
            varrun, plan, " ".join(flags), work, i))
    job = os.path.join(work, "steps.sh")
    with open(job, "w") as f:
        f.write("\n".join(script) + "\n")
    state, code, log = cluster.run_batch(
        ["-N", "1", "-n", "4", "--overcommit", "--chdir=" + work,
         "--output=" + os.path.join(work, "steps.out"), job], timeout=90)
    outputs = []
    for i in range(len(JOB_STEPS)):
        path = os.path.join(work, "step-%d.out" % i)
        outputs.append(open(path).read() if os.path.exists(path) else "")
    check(state == "COMPLETED" and code == 0, "the %d-step sbatch job "
          "completed with exit code 0" % len(JOB_STEPS),
          log + "\n".join(outputs))
    ref = {"losses": ref_losses, "weights": ref_weights}
    for i, ((_, step_check), output) in enumerate(zip(JOB_STEPS, outputs)):
        check("varrun: 4 rank(s) (slurm)" in output,
              "job step %d ran 4 ranks from srun's variables" % i, output)
        ok, what = step_check(output, work, ref)
        check(ok, "job step %d %s" % (i, what), output)

    # The sbatch examples and var-launch's srun form: the local run's losses.
    env = {"VAR_HOME": args.source_dir, "VAR_BIN_DIR": args.bin_dir}
    cpu_job = ["--gpus-per-node=0", "--cpus-per-task=1", "--time=5",
               "--chdir=" + work]
    examples = [
        ("single-node.sbatch", ["-N", "1", "--ntasks-per-node=2"],
         ["basic_cnn", "fsdp_stage2", "2", "1", "1"]),
    ]
    if len(cluster.nodes) > 1:
        examples.append(("multi-node.sbatch", ["-N", "2", "--ntasks-per-node=1"],
                         ["basic_cnn", "fsdp_stage3", "1", "1", "1"]))
    for name, placement, positional in examples:
        out = os.path.join(work, name + ".out")
        state, code, log = cluster.run_batch(
            ["--output=" + out] + cpu_job + placement +
            [os.path.join(sbatch_dir, name)] + positional + BASIC_CNN_VARRUN,
            timeout=90, extra_env=env)
        output = open(out).read() if os.path.exists(out) else ""
        check(state == "COMPLETED" and code == 0 and
              "2 rank(s) (slurm)" in output and losses(output) == cnn_losses,
              "sbatch %s %s: 2 ranks, the local run's losses" % (
                  name, " ".join(positional)), log + output)
    if len(cluster.nodes) > 1:
        result = cluster.run([launch, "--device=cpu", "--work-dir",
                              os.path.join(work, "cnn-srun"), "basic_cnn",
                              "ddp", "2", "1", "1", "1", "--"] +
                             BASIC_CNN_VARRUN,
                             timeout=60, extra_env=env)
        output = result.stdout + result.stderr
        check(result.returncode == 0 and "srun --nodes=2 --ntasks-per-node=1"
              in result.stderr and "2 rank(s) (slurm)" in result.stdout and
              losses(result.stdout) == cnn_losses,
              "var-launch basic_cnn ddp 2 1 1 1 (NODES=2) ran through srun "
              "with the local run's losses", output)


if __name__ == "__main__":
    sys.exit(main())
