#!/usr/bin/env python3
"""A traced multi-GPU run's collectives, rank against rank.

  collectives.py TRACE STEPS

TRACE is varrun --trace's file of rank 0 (TRACE.rank1, ... the others');
STEPS the steps it traced. A collective's kernel starts on each rank when
that rank reaches it and ends on all of them together, so its time on a
rank is the transfer plus the wait for the last rank to arrive. The
shortest of its times over the ranks (the last rank's) is the transfer;
the rest, per rank, is waiting. Prints per step: the collectives, their
transfer time (summed), the mean wait per rank, and the share of the
transfer (the last `transfer` of each kernel, on every rank) that ran
while that rank's compute stream was busy."""
import glob
import json
import sys

COMPUTE, COMM = 0, 1
COLLECTIVES = ("dist.all_reduce", "dist.all_gather", "dist.reduce_scatter")


def load(path):
    with open(path) as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]
    comm = [e for e in events
            if e["tid"] == COMM and e["name"] in COLLECTIVES]
    compute = sorted((e["ts"], e["ts"] + e["dur"]) for e in events
                     if e["tid"] == COMPUTE)
    merged = []
    for begin, end in compute:
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return sorted(comm, key=lambda e: e["ts"]), merged


def overlap(begin, end, intervals):
    return sum(max(0.0, min(end, b) - max(begin, a)) for a, b in intervals)


def main():
    trace, steps = sys.argv[1], int(sys.argv[2])
    ranks = [load(trace)] + [load(p) for p in
                             sorted(glob.glob(trace + ".rank*"),
                                    key=lambda p: int(p.rsplit("rank", 1)[1]))]
    counts = {len(comm) for comm, _ in ranks}
    if len(ranks) < 2 or len(counts) != 1:
        print("collectives: %d rank(s), comm events %s: nothing to match" %
              (len(ranks), sorted(counts)))
        return
    transfer = wait = under = 0.0
    for k in range(counts.pop()):
        durations = [comm[k]["dur"] for comm, _ in ranks]
        shortest = min(durations)
        transfer += shortest
        wait += sum(d - shortest for d in durations) / len(ranks)
        for comm, compute in ranks:
            end = comm[k]["ts"] + comm[k]["dur"]
            under += overlap(end - shortest, end, compute) / len(ranks)
    per = 1e-3 / steps  # trace microseconds to milliseconds a step
    print("collectives: %d a step; transfer %.2f ms, wait %.2f ms a rank, "
          "%.0f%% of the transfer under compute" %
          (len(ranks[0][0]) // steps, transfer * per, wait * per,
           100.0 * under / transfer if transfer else 0.0))


if __name__ == "__main__":
    main()
