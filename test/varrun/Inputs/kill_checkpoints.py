"""Crash test of checkpoint writing: kills a 2-rank run (SIGKILL to its whole
process group) at random moments while it writes a checkpoint after every
step, slowed down by VARRUN_CHECKPOINT_TEST_DELAY_MS so that kills land
inside shard, metadata and rename writes. After each kill the newest
DIR/step-N must load and resume: a one-step run from it must print the loss
an uninterrupted run printed for that step, and so must every killed run
(each resumes from what the previous one left).

Usage: kill_checkpoints.py PLAN OUTDIR TRIALS SEED"""
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import time

plan, out, trials, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
ckpt = os.path.join(out, "ckpt")
common = ["--nproc-per-node=2", "--seed=3", "--log-every=1", "--train-size=24",
          "--eval-size=4", "--checkpoint-dir=" + ckpt]
step_line = re.compile(r"^step (\d+)/\d+  loss (\S+)")


def losses(text):
    return {int(m.group(1)): m.group(2)
            for m in map(step_line.match, text.splitlines()) if m}


def fail(message, log=""):
    print("FAILED: " + message)
    print(log)
    sys.exit(1)


reference_steps = 400
reference = losses(subprocess.run(
    ["varrun", plan, "--steps=%d" % reference_steps] + common[:-1],
    capture_output=True, text=True, check=True).stdout)


def check_losses(text, what):
    for step, loss in losses(text).items():
        if step > reference_steps:
            fail("%s ran past the reference's %d steps" % (what, reference_steps))
        if reference[step] != loss:
            fail("%s: step %d loss %s, uninterrupted %s" % (what, step, loss,
                                                          reference[step]), text)


mid_write = 0
for trial in range(trials):
    env = dict(os.environ, VARRUN_CHECKPOINT_TEST_DELAY_MS="20")
    run = subprocess.Popen(
        ["varrun", plan, "--steps=100000", "--checkpoint-every=1",
         "--keep-checkpoints=2", "--resume"] + common,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        start_new_session=True)
    # Once it writes checkpoints (its first one done), kill it at a random
    # moment of the next ones.
    text = b""
    deadline = time.time() + 20
    while b"varrun: saved" not in text and time.time() < deadline:
        if select.select([run.stdout], [], [], 0.1)[0]:
            chunk = os.read(run.stdout.fileno(), 65536)
            if not chunk:
                break
            text += chunk
    if b"varrun: saved" not in text:
        os.killpg(run.pid, signal.SIGKILL)
        fail("trial %d: no checkpoint written" % trial, text.decode())
    time.sleep(rng.uniform(0.0, 0.4))
    os.killpg(run.pid, signal.SIGKILL)
    text += run.stdout.read()
    run.wait()
    check_losses(text.decode(), "trial %d, killed run" % trial)
    if any(name.startswith(("tmp-step-", "deleting-")) for name in os.listdir(ckpt)):
        mid_write += 1

    # The newest step-N must be complete: resume it for exactly one step.
    steps = [int(name[5:]) for name in os.listdir(ckpt)
             if re.fullmatch(r"step-\d+", name)]
    newest = max(steps)
    check = subprocess.run(
        ["varrun", plan, "--steps=%d" % (newest + 1), "--resume"] + common,
        capture_output=True, text=True)
    log = check.stdout + check.stderr
    if check.returncode != 0 or "resuming from %s/step-%d " % (ckpt, newest) not in log:
        fail("trial %d: step-%d does not resume" % (trial, newest), log)
    if list(losses(log)) != [newest + 1]:
        fail("trial %d: the resumed run did not train step %d" % (trial, newest + 1), log)
    check_losses(log, "trial %d, resumed from step %d" % (trial, newest))

print("%d kills, %d of them during a checkpoint write (a tmp-step-N or "
      "deleting-step-N left behind)" % (trials, mid_write))
print("every newest checkpoint resumed with the uninterrupted run's losses")
if mid_write * 2 >= trials:
    print("most kills interrupted a write")
