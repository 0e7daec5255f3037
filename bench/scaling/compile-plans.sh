#!/usr/bin/env bash
# Compiles, here, the plans of the multi-GPU runs (bench/scaling/run.sh):
#   DIR/eq/wN-CONFIG.fb    ZeRO equivalence: tiny_cnn_dropout.mlir
#                          (test/varrun/Inputs: no batch norm; dropout masks
#                          follow global positions), FP32, global batch 8
#                          on N = 1, 2, 4, 8 GPUs (micro-batch 8 / N), at
#                          stages 0-3 with and without offload
#   DIR/scale/MODEL-sS.fb  weak scaling: mobilenet_v2 at ZeRO-1 (also with
#                          4 MiB buckets, -b4), efficientnet_b0 at ZeRO-2,
#                          ensemble at ZeRO-3;
#                          BF16, 16 clips of 8x112x112 per GPU
#   bench/scaling/compile-plans.sh DIR   (VARC: varc, default build/bin/varc)
set -euo pipefail
dir=${1:?usage: compile-plans.sh DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
varc=${VARC:-$root/build/bin/varc}
mkdir -p "$dir/eq" "$dir/scale"
for world in 1 2 4 8; do
  for config in "0" "1" "2" "3" "2 --offload-optimizer" \
                "3 --offload-optimizer --offload-params"; do
    read -r stage extra <<< "$config"
    "$varc" "$root/test/varrun/Inputs/tiny_cnn_dropout.mlir" --precision=fp32 \
      --bucket-mb=0.002 --zero-stage="$stage" $extra \
      --micro-batch=$((8 / world)) \
      -o "$dir/eq/w$world-s$stage${extra// /}.fb" 2> /dev/null
  done
done
# mobilenet_v2's 3.5 M parameters fit one default (25 MiB) bucket, so its
# only all-reduce waits for the whole backward; -b4 splits it into 4 MiB
# buckets that can start during the backward.
for config in "mobilenet_v2 1" "mobilenet_v2 1 4" "efficientnet_b0 2" \
              "ensemble 3"; do
  read -r model stage bucket <<< "$config"
  "$varc" "$root/models/$model.mlir" --precision=bf16 --zero-stage="$stage" \
    --micro-batch=16 ${bucket:+--bucket-mb=$bucket} \
    -o "$dir/scale/$model-s$stage${bucket:+-b$bucket}.fb" 2> /dev/null
done
echo "compile-plans: $(ls "$dir"/eq | wc -l) equivalence and $(ls "$dir"/scale | wc -l) scaling plans in $dir"
