#!/usr/bin/env bash
# ZeRO equivalence: the same seed and global batch (8 clips) give the same
# FP32 weights after 10 steps for every stage, with and without offload,
# with and without gradient accumulation, on 1, 2 and 4 ranks (processes).
# Usage: zero_equivalence.sh MODEL OUTDIR
# Environment: WORLDS (default "1 2 4"; each must divide 8), DEVICE (varrun
# --device, default cpu), TOLERANCE (relative, default 1e-5): the GPU run of
# the multi-GPU issue is WORLDS="1 2 4 8" DEVICE=cuda TOLERANCE=1e-4.
set -euo pipefail
model=$1
out=$2
here=$(dirname "$0")
rm -rf "$out"
mkdir -p "$out"
common="--precision=fp32 --bucket-mb=0.002"
files=()
for world in ${WORLDS:-1 2 4}; do
  for accum in 1 2; do
    micro=$((8 / world / accum))
    for config in "0" "1" "2" "3" "1 --offload-optimizer" \
                  "2 --offload-optimizer" \
                  "3 --offload-optimizer --offload-params"; do
      stage=${config%% *}
      extra=""
      [[ "$config" == *" "* ]] && extra=${config#* }
      name="w${world}-k${accum}-s${stage}${extra// /}"
      varc "$model" $common --zero-stage=$stage $extra \
        --micro-batch=$micro --grad-accum=$accum -o "$out/$name.fb" 2>/dev/null
      varrun "$out/$name.fb" --nproc-per-node=$world --device="${DEVICE:-cpu}" \
        --steps=10 --seed=3 \
        --log-every=10 --train-size=256 --eval-size=64 \
        --export-weights="$out/$name.safetensors" > "$out/$name.log"
      files+=("$out/$name.safetensors")
    done
  done
done
python3 "$here/compare_weights.py" "${TOLERANCE:-1e-5}" "${files[@]}"
echo "all ${#files[@]} runs give stage 0's weights"
# The comparison can fail: the initial weights are not the trained ones.
varrun "$out/w1-k1-s0.fb" --steps=0 --seed=3 --train-size=256 --eval-size=64 \
  --export-weights="$out/initial.safetensors" > /dev/null
if python3 "$here/compare_weights.py" 1e-5 "${files[0]}" \
     "$out/initial.safetensors" > "$out/initial.log"; then
  echo "training changed nothing"
  exit 1
fi
echo "training moved the weights away from their initial values"
