#!/usr/bin/env bash
# CPU/CUDA parity of whole plans (make_parity_plans.sh), from the same seed
# and batches. Each plan runs one training step on each backend
# (--dump-step: every parameter's gradient, compared by compare_tensors.py),
# then trains 10 steps on each, and weights_diff.py compares the FP32
# weights:
# - well-conditioned plans (-wc-) must agree: gradients within 1e-3,
#   weights within 1e-4 per tensor;
# - as-trained plans are reported, not enforced: a ReLU, ReLU6 or max pool
#   at a tie flips its gradient on a rounding difference, and small-batch
#   batch norm amplifies it. Their stage-0 plans also run on the CPU from a
#   start perturbed by float32 rounding (perturb_weights.py): how far
#   rounding alone carries gradients and weights, printed as the floor
#   beside the CPU/CUDA distance.
# A failure prints DIFFERENT. Usage: backend_parity.sh PLANDIR [JOBS]
# (varrun on PATH). PARITY_DEVICE=cpu compares the CPU backend with itself:
# the script's own check, without a GPU.
set -uo pipefail
dir=$1
jobs=${2:-4}
here=$(cd "$(dirname "$0")" && pwd)
device2=${PARITY_DEVICE:-cuda}
export here dir device2
mkdir -p "$dir/runs"
train() { # plan, device, log, extra flags...
  local plan=$1 device=$2 log=$3
  shift 3
  varrun "$plan" --device="$device" --steps=10 --seed=1 --log-every=10 \
    --train-size=64 --eval-size=8 "$@" > "$log" 2>&1
}
pair() { # plan: both backends, then one verdict line
  local plan=$1 name device run
  name=$(basename "$plan" .fb)
  run="$dir/runs/$name"
  for device in cpu "$device2"; do
    if ! varrun "$plan" --device="$device" --seed=1 --train-size=64 \
        --dump-step="$run.$device.step.safetensors" \
        > "$run.$device.step.log" 2>&1 ||
       ! train "$plan" "$device" "$run.$device.log" \
        --export-weights="$run.$device.safetensors"; then
      echo "$name: DIFFERENT ($device run failed: see $run.$device*.log)"
      return
    fi
  done
  local losses grads weights verdict="" floor=""
  losses=$(grep -h "^step 10/10" "$run.cpu.log" "$run.$device2.log" |
    awk '{print $4}' | paste -sd' ')
  if [[ $name == *-wc-* ]]; then
    grads=$(python3 "$here/compare_tensors.py" 1e-3 \
      "$run.cpu.step.safetensors" "$run.$device2.step.safetensors") ||
      verdict="DIFFERENT gradients "
    weights=$(python3 "$here/weights_diff.py" "$run.cpu.safetensors" \
      "$run.$device2.safetensors" 1e-4) || verdict+="DIFFERENT weights "
  else
    grads=$(python3 "$here/compare_tensors.py" 1e30 \
      "$run.cpu.step.safetensors" "$run.$device2.step.safetensors")
    grads=${grads/ok /}
    weights=$(python3 "$here/weights_diff.py" "$run.cpu.safetensors" \
      "$run.$device2.safetensors")
    if [[ $name == *-s0 ]] &&
       varrun "$plan" --steps=0 --seed=1 --export-weights="$run.init.st" \
         > /dev/null 2>&1 &&
       python3 "$here/perturb_weights.py" "$run.init.st" "$run.nudged.st"; then
      local start ok=1
      for start in init nudged; do
        varrun "$plan" --device=cpu --seed=1 --train-size=64 \
          --init-weights="$run.$start.st" \
          --dump-step="$run.$start.step.st" > "$run.$start.step.log" 2>&1 &&
          train "$plan" cpu "$run.$start.log" --init-weights="$run.$start.st" \
            --export-weights="$run.$start.trained.st" || ok=0
      done
      if ((ok)); then
        local gradFloor
        gradFloor=$(python3 "$here/compare_tensors.py" 1e30 \
          "$run.init.step.st" "$run.nudged.step.st")
        floor="; rounding floor: gradients ${gradFloor/ok /}, weights"
        floor+=" $(python3 "$here/weights_diff.py" "$run.init.trained.st" \
          "$run.nudged.trained.st")"
      fi
    fi
  fi
  echo "$name: ${verdict}step-1 gradients $grads; weights after 10 steps" \
    "$weights$floor; loss after 10 steps (cpu $device2) $losses"
}
export -f pair train
# Verdicts print as each pair finishes (a run cut short by a timeout keeps
# what it finished), then sorted into verdicts.txt.
ls "$dir"/plans/*.fb | xargs -P "$jobs" -I{} bash -c 'pair {}' |
  tee "$dir/verdicts.unsorted.txt"
sort "$dir/verdicts.unsorted.txt" > "$dir/verdicts.txt"
if ! grep -q DIFFERENT "$dir/verdicts.txt"; then
  echo "parity: every well-conditioned plan's gradients and weights match"
  exit 0
fi
exit 1
