#!/usr/bin/env bash
# `make demo`: the main job on built-in defaults. Writes a small synthetic
# action dataset as real video files (var-synth: UCF101's layout and split
# files, XviD-style AVI), compiles the basic CNN into a ZeRO-2 BF16 training
# plan, shows what each rank will allocate, and trains it on 2 CPU ranks
# (processes) from the videos: which of 4 directions shapes move in (trails
# show the motion in each frame, which a per-frame CNN needs; no flips, which
# would swap left and right). About three minutes on 2 cores.
set -euo pipefail
build=${1:-build}
model=models/basic_cnn.mlir
out=$build/demo
mkdir -p "$out"

echo "== var-synth: 4 classes x 40 videos, 160x120, 32 frames"
rm -rf "$out/videos"
"$build/bin/var-synth" "$out/videos" --classes=4 --videos-per-class=40 \
  --frames=32 --width=160 --height=120 --trail=3
echo
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
echo "== varrun: 2 CPU ranks, 300 steps of 8 clips decoded from the videos"
"$build/bin/varrun" "$out/plan.fb" --nproc-per-node=2 \
  --data="$out/videos" --no-flip --data-workers=1 --steps=300 \
  --log-every=50 --export-weights="$out/weights.safetensors"
