"""Checks a `varc --report=json` against the ZeRO paper's model-state bytes.

Mixed precision with Adam (ZeRO, Rajbhandari et al. 2020, section 5): per
parameter 2 bytes of bf16 parameters, 2 of bf16 gradients and K = 12 of
optimizer state (fp32 master, momentum, variance). With P parameters (here
the padded count the report states) and W ranks, parameters + gradients +
optimizer state on one rank's device are
    stage 0: 16P,  stage 1: 4P + 12P/W,  stage 2: 2P + 14P/W,  stage 3: 16P/W.
Padding must stay small: under W * 64 elements per bucket and parameter.
"""
import json
import sys

stage, world = int(sys.argv[1]), int(sys.argv[2])
report = json.load(sys.stdin)
padded = report["padded_parameter_count"]
real = report["parameter_count"]
assert report["world_size"] == world and report["zero_stage"] == stage
assert padded % world == 0, "shards must be equal"
slack = world * 64 * (report["buckets"] + 11)
assert 0 <= padded - real < slack, f"padding {padded - real} >= {slack}"
expected = {
    0: 16 * padded,
    1: 4 * padded + 12 * padded // world,
    2: 2 * padded + 14 * padded // world,
    3: 16 * padded // world,
}[stage]
assert len(report["ranks"]) == world
for rank in report["ranks"]:
    device = rank["device"]
    states = device["parameters"] + device["gradients"] + device["optimizer_state"]
    assert states == expected, f"rank {rank['rank']}: {states} != {expected}"
    parts = ["parameters", "gradients", "optimizer_state", "peak_activations",
             "communication_buffers"]
    assert device["total"] == sum(device[p] for p in parts)
    assert rank["host"]["total"] == 0
print(f"stage {stage} W={world}: P={padded} ({real} real), "
      f"model states {expected} bytes per rank: ok")
