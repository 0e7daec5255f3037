"""Reads a varrun event file with TensorBoard's own loader and prints its
scalars, to check that TensorBoard accepts what `varrun --tensorboard=DIR`
writes (needs `pip install tensorboard`, e.g. on the GPU machine).

Usage: python3 bench/tools/read_tensorboard.py DIR_OR_EVENT_FILE"""
import glob
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader


def main():
    path = sys.argv[1]
    files = sorted(glob.glob(os.path.join(path, "events.out.tfevents.*"))) if os.path.isdir(path) else [path]
    if not files:
        sys.exit("no events.out.tfevents.* in %s" % path)
    for name in files:
        print("file", name)
        # The raw loader: every Event, in order.
        for event in EventFileLoader(name).Load():
            if event.HasField("file_version"):
                print("  file_version", event.file_version)
            for value in event.summary.value:
                # The loader migrates simple_value into a scalar tensor.
                number = value.simple_value if value.HasField("simple_value") \
                    else value.tensor.float_val[0]
                print("  step %d %s %g" % (event.step, value.tag, number))
    # What TensorBoard's scalar dashboard would show.
    accumulator = EventAccumulator(path)
    accumulator.Reload()
    for tag in accumulator.Tags()["scalars"]:
        points = accumulator.Scalars(tag)
        print("scalar %s: %d points, last step %d value %g" % (tag, len(points), points[-1].step, points[-1].value))


main()
