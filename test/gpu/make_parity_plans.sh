#!/usr/bin/env bash
# Plans for the CPU/CUDA parity runs, at small clips so that the CPU side
# stays quick (VGG-11 only in its well-conditioned stage-0 form: its
# 100M-parameter classifier takes the CPU reference ~10 s a step).
#
# Two families per model:
# - well-conditioned ("-wc-"): every ReLU and ReLU6 made SiLU, max pooling
#   average pooling, batch norm frozen (varc --freeze-batch-norm). FP32 at
#   ZeRO stages 0-3, with and without offload. A start perturbed by float32
#   rounding moves these models' weights after 10 steps by at most 7e-5
#   (per tensor, relative norm), so the two backends must agree to 1e-4.
# - as trained: FP32 and BF16 at stage 0 and at stage 3 with offload. Kinks
#   and small-batch batch norm make these chaotic at this size: the same
#   rounding-sized perturbation moves their weights by 1e-3 to 1, so the
#   parity run measures that floor beside the CPU/CUDA difference.
# Usage: make_parity_plans.sh MODELS_DIR OUTDIR (varc on PATH)
set -euo pipefail
models=$1
out=$2
rm -rf "$out"
mkdir -p "$out/models" "$out/plans"
cp "$models/basic_cnn.mlir" "$out/models/basic_cnn.mlir"
for model in mobilenet_v2 efficientnet_b0 cnn_lstm ensemble vgg11_bn; do
  python3 "$models/gen/$model.py" --frames 2 --size 32 --classes 10 \
    > "$out/models/$model.mlir"
done
python3 "$models/gen/r2plus1d_18.py" --frames 4 --size 32 --classes 10 \
  > "$out/models/r2plus1d_18.mlir"
compile() { # model source, plan name, varc flags...
  local source=$1 name=$2
  shift 2
  varc "$source" --micro-batch=2 --bucket-mb=1 "$@" \
    -o "$out/plans/$name.fb" 2>/dev/null
}
for path in "$out"/models/*.mlir; do
  model=$(basename "$path" .mlir)
  smooth="$out/models/$model.smooth.mlir"
  sed -E 's/var\.relu6? /var.silu /g; s/var\.max_pool /var.avg_pool /g' \
    "$path" > "$smooth"
  configs=("0" "1" "2" "3" "2 --offload-optimizer"
           "3 --offload-optimizer --offload-params")
  [[ $model == vgg11_bn ]] && configs=("0")
  for config in "${configs[@]}"; do
    read -r stage extra <<< "$config"
    compile "$smooth" "$model-wc-fp32-s$stage${extra// /}" --precision=fp32 \
      --freeze-batch-norm --zero-stage="$stage" $extra
  done
  [[ $model == vgg11_bn ]] && continue
  for config in "fp32 0" "fp32 3 --offload-optimizer --offload-params" \
                "bf16 0" "bf16 3 --offload-optimizer --offload-params"; do
    read -r precision stage extra <<< "$config"
    compile "$path" "$model-$precision-s$stage${extra// /}" \
      --precision="$precision" --zero-stage="$stage" $extra
  done
done
ls "$out/plans" | wc -l
