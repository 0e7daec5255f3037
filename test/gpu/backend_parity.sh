#!/usr/bin/env bash
# CPU/CUDA parity of whole plans, from the same seed and batches: every plan
# in PLANDIR/plans runs one training step on each backend (--dump-step: the
# gradients of every parameter, compared by compare_tensors.py: FP32 within
# 1e-3, BF16 within 5e-2; a failure prints DIFFERENT), then trains 10 steps
# on each; the FP32 weights' worst difference is reported, not enforced:
# AdamW turns gradients that are zero but for rounding (each backend's own)
# into steps of the learning rate's size, so weights part at that scale.
# Usage: backend_parity.sh PLANDIR [JOBS] (varrun on PATH)
set -uo pipefail
dir=$1
jobs=${2:-4}
here=$(cd "$(dirname "$0")" && pwd)
export here dir
mkdir -p "$dir/runs"
pair() { # plan: both backends, then one verdict line
  local plan=$1 name device run
  name=$(basename "$plan" .fb)
  run="$dir/runs/$name"
  for device in cpu cuda; do
    if ! varrun "$plan" --device="$device" --seed=1 --train-size=64 \
        --dump-step="$run.$device.step.safetensors" \
        > "$run.$device.step.log" 2>&1 ||
       ! varrun "$plan" --device="$device" --steps=10 --seed=1 \
        --log-every=10 --train-size=64 --eval-size=8 \
        --export-weights="$run.$device.safetensors" \
        > "$run.$device.log" 2>&1; then
      echo "$name: DIFFERENT ($device run failed: see $run.$device*.log)"
      return
    fi
  done
  local gradTol=1e-3 losses grads weights
  [[ $name == *-bf16-* ]] && gradTol=5e-2
  losses=$(grep -h "^step 10/10" "$run.cpu.log" "$run.cuda.log" |
    awk '{print $4}' | paste -sd' ')
  grads=$(python3 "$here/compare_tensors.py" "$gradTol" \
    "$run.cpu.step.safetensors" "$run.cuda.step.safetensors")
  weights=$(python3 "$here/compare_tensors.py" 1e30 \
    "$run.cpu.safetensors" "$run.cuda.safetensors")
  weights=${weights/ok /}
  echo "$name: step-1 gradients $grads; weights after 10 steps $weights;" \
    "loss after 10 steps (cpu cuda) $losses"
}
export -f pair
ls "$dir"/plans/*.fb | xargs -P "$jobs" -I{} bash -c 'pair {}' |
  tee "$dir/verdicts.txt"
if ! grep -q DIFFERENT "$dir/verdicts.txt"; then
  echo "parity: every plan's gradients match"
  exit 0
fi
exit 1
