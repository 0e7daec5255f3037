#!/usr/bin/env bash
# `make demo`: the main job on built-in defaults. Today that is compiling the
# basic CNN from models/ into a ZeRO-3 training plan: its summary, the bytes
# each of 8 ranks will allocate, and the plan file as the runtime loads it.
# It grows into a training run as the runtime lands.
set -euo pipefail
build=${1:-build}
model=models/basic_cnn.mlir
out=$build/demo
mkdir -p "$out"

echo "== varc $model --summary"
"$build/bin/varc" "$model" --summary
echo
echo "== ZeRO-3 training plan, bf16, micro-batch 8 x accumulation 2, 8 ranks"
"$build/bin/varc" "$model" --zero-stage=3 --micro-batch=8 --grad-accum=2 \
  --world-size=8 --report=json -o "$out/plan.fb" > "$out/report.json"
python3 - "$out/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rank = report["ranks"][0]
print(f"bytes per rank ({report['world_size']} ranks, ZeRO stage {report['zero_stage']}):")
for key in ["parameters", "gradients", "optimizer_state", "peak_activations",
            "communication_buffers", "total"]:
    print(f"  {key:22} device {rank['device'][key]:>12,}  host {rank['host'][key]:>12,}")
PY
echo
echo "== the plan as the runtime loads it"
"$build/bin/var-plan" "$out/plan.fb" --world-size=8
echo
echo "== the same model from the DeepSpeed FSDP stage 3 config users had"
"$build/bin/varc" "$model" --config test/varc/Inputs/ds_config_fsdp_stage3.json \
  --micro-batch=8 --world-size=8 --report=json |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["ranks"][0]; print("device total", r["device"]["total"], "bytes; host total", r["host"]["total"], "bytes")'
