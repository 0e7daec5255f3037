"""Checks that runs print, for every step they log, exactly the loss an
uninterrupted run printed. Usage: compare_losses.py FULL.log PART.log...
Prints the steps the parts cover; exits 1 on any difference."""
import re
import sys

step_line = re.compile(r"^step (\d+)/\d+  loss (\S+)")


def losses(path):
    with open(path) as f:
        return [(int(m.group(1)), m.group(2))
                for m in map(step_line.match, f) if m]


full = dict(losses(sys.argv[1]))
covered = []
for path in sys.argv[2:]:
    for step, loss in losses(path):
        if full.get(step) != loss:
            print("DIFFERENT: %s: step %d loss %s, uninterrupted %s"
                  % (path.split("/")[-1], step, loss, full.get(step)))
            sys.exit(1)
        covered.append(step)
print("steps %s: the uninterrupted run's losses" % " ".join(map(str, covered)))
