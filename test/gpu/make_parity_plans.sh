#!/usr/bin/env bash
# Plans for the CPU/CUDA parity runs: the zoo models (small clips, so that
# the CPU side stays quick) in FP32 at ZeRO stages 0-3 with and without
# offload, and in BF16 at stages 0 and 3 with offload. VGG-11 is left out:
# its 100M-parameter classifier takes the CPU reference minutes a step.
# Usage: make_parity_plans.sh MODELS_DIR OUTDIR (varc on PATH)
set -euo pipefail
models=$1
out=$2
rm -rf "$out"
mkdir -p "$out/models" "$out/plans"
cp "$models/basic_cnn.mlir" "$out/models/basic_cnn.mlir"
for model in mobilenet_v2 efficientnet_b0 cnn_lstm ensemble; do
  python3 "$models/gen/$model.py" --frames 2 --size 32 --classes 10 \
    > "$out/models/$model.mlir"
done
python3 "$models/gen/r2plus1d_18.py" --frames 4 --size 32 --classes 10 \
  > "$out/models/r2plus1d_18.mlir"
for path in "$out"/models/*.mlir; do
  model=$(basename "$path" .mlir)
  for config in "fp32 0" "fp32 1" "fp32 2" "fp32 3" \
                "fp32 2 --offload-optimizer" \
                "fp32 3 --offload-optimizer --offload-params" \
                "bf16 0" "bf16 3 --offload-optimizer --offload-params"; do
    read -r precision stage extra <<< "$config"
    name="$model-$precision-s$stage${extra// /}"
    varc "$path" --precision="$precision" --zero-stage="$stage" $extra \
      --micro-batch=2 --bucket-mb=1 -o "$out/plans/$name.fb" 2>/dev/null
  done
done
ls "$out/plans" | wc -l
