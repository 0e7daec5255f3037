#!/usr/bin/env bash
# The multi-GPU runs, on a machine of several GPUs (varrun on PATH; plans
# from compile-plans.sh):
#   bench/scaling/run.sh PLANS OUT
# 1. ZeRO equivalence: every plan of PLANS/eq on its number of GPUs (10
#    FP32 steps, the same seed and global batch); every run's weights must
#    equal the 1-GPU stage-0 run's within 1e-4 (compare_weights.py).
# 2. Weak scaling: each plan of PLANS/scale on 1, 2, 4 and 8 GPUs (up to
#    what the machine has), random data (--data=builtin:random), frames/s
#    per GPU (the last log window up to step STEPS) against 1 GPU's, and
#    the timeline of two more steps (--trace: each stream's busy time and
#    how much of the communication ran under compute; collectives.py: the
#    collectives' transfer time, their wait for the last rank, and how much
#    of the transfer ran under compute).
# 3. Bus bandwidth of NCCL all-gather and reduce-scatter through our
#    communicator (comm-bench) and through torch.distributed
#    (torch_comm_bench.py, when PYTHON has torch), 1-256 MiB.
# Environment: GPUS (default: every GPU nvidia-smi lists), DEVICE (cuda;
# cpu for a trial of the script on CPU ranks), STEPS (scaling steps, 30),
# PYTHON (default /opt/torch/.venv/bin/python where it exists), PARTS
# (which of eq, scale, bw to run; default all three), VARRUN_ARGS (more
# varrun flags for every run, e.g. --cuda-graphs=local), RUN_TIMEOUT
# (seconds a varrun job may take, 300: a job that does not end is killed
# and reported FAILED, and the runs after it go on).
set -uo pipefail
plans=${1:?usage: run.sh PLANS OUT}
out=${2:?usage: run.sh PLANS OUT}
root=$(cd "$(dirname "$0")/../.." && pwd)
device=${DEVICE:-cuda}
parts=${PARTS:-eq,scale,bw}
want() { [[ ",$parts," == *",$1,"* ]]; }
steps=${STEPS:-30}
run_timeout=${RUN_TIMEOUT:-300}
every=$((steps < 10 ? steps : 10))
read -r -a extra <<< "${VARRUN_ARGS:-}"
gpus=${GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')}
python=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x /opt/torch/.venv/bin/python ] &&
  python=/opt/torch/.venv/bin/python
export NCCL_NVLS_ENABLE=0 # the machine's rule: never NVLink multicast
mkdir -p "$out"
# Everything printed below is also kept in OUT/summary.txt.
exec > >(tee "$out/summary.txt") 2>&1
worlds=()
for n in 1 2 4 8; do ((n <= gpus)) && worlds+=("$n"); done
echo "run.sh: ${gpus} GPU(s); worlds ${worlds[*]}; varrun flags: ${extra[*]:-none}"

if want eq; then
echo "== ZeRO equivalence (FP32, 10 steps, global batch 8)"
files=()
for n in "${worlds[@]}"; do
  for plan in "$plans"/eq/w$n-*.fb; do
    name=$(basename "$plan" .fb)
    if timeout -k 30 "$run_timeout" varrun "$plan" --nproc-per-node="$n" --device="$device" --steps=10 "${extra[@]}" \
        --seed=3 --log-every=10 --train-size=256 --eval-size=16 \
        --export-weights="$out/$name.safetensors" > "$out/$name.log" 2>&1; then
      files+=("$out/$name.safetensors")
    else
      echo "$name: FAILED ($(grep -m1 -i error "$out/$name.log"))"
    fi
  done
done
python3 "$root/test/varrun/Inputs/compare_weights.py" 1e-4 \
  "$out/w1-s0.safetensors" "${files[@]}" | sed 's|^.*/||'

fi

if want scale; then
echo "== weak scaling (BF16, 16 clips of 8x112x112 per GPU, random data)"
for plan in "$plans"/scale/*.fb; do
  name=$(basename "$plan" .fb)
  base=""
  for n in "${worlds[@]}"; do
    run="$out/$name-w$n"
    # Two steps more than measured, traced: a traced step replays a
    # second recording of the step with a time mark around every
    # instruction (an eager step where the step is not recorded), so it
    # stays out of the window measured (the last log window up to step
    # STEPS).
    if ! timeout -k 30 "$run_timeout" varrun "$plan" --nproc-per-node="$n" --device="$device" "${extra[@]}" \
        --data=builtin:random --steps=$((steps + 2)) --log-every="$every" \
        --eval-size=16 --metrics="$run.jsonl" --trace="$run.trace.json" \
        --trace-steps=$((steps + 1)):$((steps + 2)) > "$run.log" 2>&1; then
      echo "$name on $n: FAILED ($(grep -m1 -i error "$run.log"))"
      continue
    fi
    per=$(python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if "\"train\"" in l]
row = [r for r in rows if r["step"] <= int(sys.argv[3])][-1]
print("%.1f" % (row["frames_per_s"] / int(sys.argv[2])))' "$run.jsonl" "$n" "$steps")
    [ -z "$base" ] && base=$per
    echo "$name on $n GPU(s): $per frames/s per GPU," \
      "$(python3 -c "print('%.0f%%' % (100 * $per / $base))") of 1 GPU's;" \
      "$(grep -o 'compute .*busy per step' "$run.log");" \
      "$(grep -o '[0-9]* runs replayed' "$run.log" || echo 'no graph replays')"
    # The comm stream's time above includes each kernel's wait for the
    # last rank; collectives.py splits it into transfer and wait.
    ((n > 1)) && echo "  $(python3 "$root/bench/scaling/collectives.py" "$run.trace.json" 2)"
  done
done

fi

want bw || exit 0
echo "== bus bandwidth, ours and torch.distributed's"
if ((gpus >= 2)); then
  comm-bench --nproc="$gpus" > "$out/comm-bench.txt" 2>&1 ||
    echo "comm-bench failed"
  cat "$out/comm-bench.txt"
  "$python" "$root/bench/comm/torch_comm_bench.py" --nproc="$gpus" \
    > "$out/torch-comm-bench.txt" 2>&1 || echo "torch_comm_bench.py failed"
  grep -v Warning "$out/torch-comm-bench.txt"
else
  echo "(one GPU: nothing to measure)"
fi
