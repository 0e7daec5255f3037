#!/usr/bin/env bash
# `make demo`: the main job on built-in defaults. Compiles the basic CNN into
# a ZeRO-2 BF16 training plan, shows what each rank will allocate, and
# trains it on 2 CPU ranks (processes) on the built-in synthetic task: which
# of 4 directions a shape moves in (trails show the motion in each frame,
# which a per-frame CNN needs). About three minutes on 2 cores.
set -euo pipefail
build=${1:-build}
model=models/basic_cnn.mlir
out=$build/demo
mkdir -p "$out"

echo "== varc $model --summary"
"$build/bin/varc" "$model" --summary | grep -E "^(model|parameters|buffers|forward FLOPs per clip)"
echo
echo "== ZeRO-2 BF16 plan: 4 clips per rank, SGD with momentum"
flags=(--zero-stage=2 --micro-batch=4 --optimizer=sgd --lr=0.05
       --weight-decay=0.0001)
"$build/bin/varc" "$model" "${flags[@]}" --world-size=2 --report=json \
  2>/dev/null > "$out/report.json"
python3 - "$out/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rank = report["ranks"][0]["device"]
print(f"bytes per rank on 2 ranks: " + ", ".join(
    f"{key} {rank[key]:,}" for key in
    ["parameters", "gradients", "optimizer_state", "peak_activations",
     "communication_buffers", "total"]))
PY
"$build/bin/varc" "$model" "${flags[@]}" -o "$out/plan.fb"
echo
echo "== varrun: 2 CPU ranks, 300 steps of 8 clips"
"$build/bin/varrun" "$out/plan.fb" --nproc-per-node=2 \
  --data=builtin:synthetic-trails --task-classes=4 --steps=300 \
  --log-every=50 --eval-size=256 --export-weights="$out/weights.safetensors"
