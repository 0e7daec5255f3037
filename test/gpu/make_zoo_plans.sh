#!/usr/bin/env bash
# Full-size BF16 plans of every zoo model at ZeRO stages 0-3, with and
# without offload, channels-last (padded channels, stem patch GEMMs,
# temporal backward data) at stage 3 and at stage 0 with batch norm apart
# from its activation (--fuse-bn-act=false; the others fuse them, and a
# batch norm with the max pool that alone reads it, --fuse-bn-pool), and
# channels-first apart at stage 1, for zoo_train.sh: the models' own clip shapes
# (8x112x112; r2plus1d_18 16x112x112; vgg11_bn 8x224x224), micro-batch 8,
# AdamW.
# Usage: make_zoo_plans.sh MODELS_DIR OUTDIR (varc on PATH)
set -euo pipefail
models=$1
out=$2
rm -rf "$out"
mkdir -p "$out"
for path in "$models"/*.mlir; do
  model=$(basename "$path" .mlir)
  for config in "0" "1" "2" "3" "2 --offload-optimizer" "3 --offload-optimizer" \
                "3 --offload-optimizer --offload-params" \
                "0 --channels-last --fuse-bn-act=false" "3 --channels-last" \
                "1 --fuse-bn-act=false"; do
    read -r stage extra <<< "$config"
    varc "$path" --precision=bf16 --zero-stage="$stage" $extra \
      --micro-batch=8 -o "$out/$model-s$stage${extra// /}.fb" 2>/dev/null
  done
done
ls "$out" | wc -l
