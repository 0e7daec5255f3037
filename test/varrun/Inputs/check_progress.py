"""Checks varrun's log as progress.test captures it. Usage:
check_progress.py FILE tty|pipe."""
import re
import sys

text = open(sys.argv[1], newline="").read()
if sys.argv[2] == "tty":
    # Steps 2, 4, 6, 8 each redraw the line in place.
    for step in (2, 4, 6, 8):
        assert re.search(r"\rstep %d/8 .* ETA \d+:\d\d" % step, text), step
        assert not re.search(r"\nstep %d/8" % step, text), step
    # The evaluation at step 4 blanks the progress line and stays.
    assert re.search(r"\r +\reval accuracy .*\(step 4\)\r?\n", text), text
else:
    assert "\r" not in text and "ETA" not in text, text
    lines = [line for line in text.splitlines() if line.startswith(("step", "eval"))]
    assert [line.split()[0] + " " + line.split()[1] for line in lines] == [
        "step 2/8", "step 4/8", "eval accuracy", "step 6/8", "step 8/8",
        "eval accuracy"], lines
print("ok")
