#!/usr/bin/env bash
# Trains every plan in PLANDIR/plans for 10 steps on the CPU backend and on
# the CUDA backend from the same seed and batches, and compares the FP32
# weights as each pair finishes: FP32 plans within 1e-4 relative (a failure
# prints DIFFERENT); BF16 plans are reported with their worst relative
# difference. Usage: backend_parity.sh PLANDIR [JOBS] (varrun on PATH)
set -uo pipefail
dir=$1
jobs=${2:-4}
here=$(cd "$(dirname "$0")" && pwd)
export compare="$here/../varrun/Inputs/compare_weights.py"
export dir
mkdir -p "$dir/runs"
pair() { # plan: both runs, then one verdict line
  local plan=$1 name device
  name=$(basename "$plan" .fb)
  for device in cpu cuda; do
    if ! varrun "$plan" --device="$device" --steps=10 --seed=1 \
        --log-every=10 --train-size=64 --eval-size=8 \
        --export-weights="$dir/runs/$name.$device.safetensors" \
        > "$dir/runs/$name.$device.log" 2>&1; then
      echo "$name: DIFFERENT ($device run failed: $(tail -n 1 \
        "$dir/runs/$name.$device.log"))"
      return
    fi
  done
  local losses
  losses=$(grep -h "^step 10/10" "$dir/runs/$name.cpu.log" \
    "$dir/runs/$name.cuda.log" | awk '{print $4}' | paste -sd/)
  if [[ $name == *-fp32-* ]]; then
    python3 "$compare" 1e-4 "$dir/runs/$name.cpu.safetensors" \
      "$dir/runs/$name.cuda.safetensors" | sed "s/^.*: /$name: loss $losses: /"
  else
    python3 "$compare" 1e30 "$dir/runs/$name.cpu.safetensors" \
      "$dir/runs/$name.cuda.safetensors" |
      sed "s/^.*: ok/$name: loss $losses: bf16, not compared/"
  fi
}
export -f pair
ls "$dir"/plans/*.fb | xargs -P "$jobs" -I{} bash -c 'pair {}' |
  tee "$dir/verdicts.txt"
if ! grep -q DIFFERENT "$dir/verdicts.txt"; then
  echo "parity: every FP32 plan matches"
  exit 0
fi
exit 1
