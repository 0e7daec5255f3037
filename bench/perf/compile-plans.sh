#!/usr/bin/env bash
# Compiles the plans bench/perf/run.sh measures, here (varc is not carried
# to the GPU machine): each zoo model generated at the benchmark's clip
# (models/gen, 101 classes), BF16, AdamW, ZeRO stage 0, micro-batch = batch.
#   bench/perf/compile-plans.sh DIR
# DIR gets MODEL.fb for each model and models.txt ("MODEL BATCH FRAMES
# SIZE" per line), which run.sh reads to give PyTorch the same shapes.
# For a small trial on a CPU: PERF_BATCH, PERF_FRAMES, PERF_SIZE override
# every model's; PERF_MODELS picks models; VARC names varc (default
# build/bin/varc). PERF_VARIANTS ("NAME:VARC-FLAGS ...", default
# "cl:--channels-last,--fuse-bn-act=false fba:--channels-last": batch norm
# apart from its activation, and fused as varc does by default, measured
# side by side) adds a plan MODEL-NAME.fb per
# variant, compiled with those extra flags (commas in VARC-FLAGS stand for
# spaces); run.sh measures every plan of a model.
set -euo pipefail
dir=${1:?usage: compile-plans.sh DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
varc=${VARC:-$root/build/bin/varc}
[ -x "$varc" ] || { echo "compile-plans: no varc at $varc (build first)" >&2; exit 1; }
mkdir -p "$dir"

# model, batch, frames per clip, frame side: the issue's benchmark (and
# torch_bench.py's MODELS).
shapes="mobilenet_v2 16 8 224
efficientnet_b0 16 8 224
vgg11_bn 8 8 224
cnn_lstm 16 8 224
r2plus1d_18 16 16 112"

: > "$dir/models.txt"
while read -r model batch frames size; do
  if [ -n "${PERF_MODELS:-}" ] && ! grep -qw "$model" <<<"$PERF_MODELS"; then
    continue
  fi
  batch=${PERF_BATCH:-$batch}
  frames=${PERF_FRAMES:-$frames}
  size=${PERF_SIZE:-$size}
  python3 "$root/models/gen/$model.py" --frames "$frames" --size "$size" \
    --classes 101 > "$dir/$model.mlir"
  "$varc" "$dir/$model.mlir" --precision=bf16 --optimizer=adamw \
    --zero-stage=0 --micro-batch="$batch" -o "$dir/$model.fb"
  for variant in ${PERF_VARIANTS-cl:--channels-last,--fuse-bn-act=false fba:--channels-last}; do
    flags=${variant#*:}
    # shellcheck disable=SC2086 # the flags are words
    "$varc" "$dir/$model.mlir" --precision=bf16 --optimizer=adamw \
      --zero-stage=0 --micro-batch="$batch" ${flags//,/ } \
      -o "$dir/$model-${variant%%:*}.fb"
  done
  rm "$dir/$model.mlir"
  echo "$model $batch $frames $size" >> "$dir/models.txt"
  echo "compile-plans: $dir/$model.fb (batch $batch, clips ${frames}x3x${size}x${size})"
done <<<"$shapes"
