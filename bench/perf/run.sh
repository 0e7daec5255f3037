#!/usr/bin/env bash
# The one command of bench/perf, on the GPU machine: for each plan that
# compile-plans.sh wrote into PLANS, varrun's training step on random data
# (frames/s, peak device memory, TFLOP/s, MFU, bytes moved) and PyTorch's,
# eager and torch.compile, on the same device in the same run; then the
# table (report.py).
#   bench/perf/run.sh PLANS [OUT]      (OUT default perf-out)
# varrun must be on PATH (or VARRUN=path). Environment, all optional:
#   PERF_MODELS    models to run (default: all of PLANS/models.txt)
#   PERF_WARMUP, PERF_STEPS, PERF_WINDOW, PERF_PROFILE
#                  steps before timing (10), timed (30), per window (5;
#                  frames/s is the median window's), then profiled (5)
#   PERF_MODES     PyTorch's modes (eager,compile)
#   PERF_DEVICE    cuda (default) or cpu, for a trial run
#   PERF_PEAK_TFLOPS  MFU's peak (989: H100 SXM dense BF16)
#   PERF_HBM_TBPS  the HBM roofline (3.35: H100 SXM)
#   PERF_TIMEOUT   seconds per varrun or PyTorch process (240)
#   PYTHON         the Python with torch (default /opt/torch/.venv/bin/python
#                  where it exists, else python3)
#   TORCH_BENCH_ARGS  more torch_bench.py flags (e.g. --precision=fp32)
set -uo pipefail
plans=${1:?usage: run.sh PLANS [OUT]}
out=${2:-perf-out}
here=$(cd "$(dirname "$0")" && pwd)
warmup=${PERF_WARMUP:-10}
steps=${PERF_STEPS:-30}
window=${PERF_WINDOW:-5}
profile=${PERF_PROFILE:-5}
modes=${PERF_MODES:-eager,compile}
device=${PERF_DEVICE:-cuda}
peak=${PERF_PEAK_TFLOPS:-989}
hbm=${PERF_HBM_TBPS:-3.35}
limit=${PERF_TIMEOUT:-240}
varrun=${VARRUN:-varrun}
python=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x /opt/torch/.venv/bin/python ] &&
  python=/opt/torch/.venv/bin/python
[ -f "$plans/models.txt" ] || { echo "run.sh: no $plans/models.txt (run compile-plans.sh)" >&2; exit 2; }
command -v "$varrun" > /dev/null || { echo "run.sh: varrun is not on PATH" >&2; exit 2; }
# varrun's windows must start after the warmup: its log lines are the
# windows' ends.
[ $((warmup % window)) -eq 0 ] && [ $((steps % window)) -eq 0 ] ||
  { echo "run.sh: PERF_WARMUP and PERF_STEPS must be multiples of PERF_WINDOW" >&2; exit 2; }
mkdir -p "$out"
cp "$plans/models.txt" "$out/models.txt"
printf '{"warmup": %d, "steps": %d, "window": %d, "profile": %d, "hbm_tbps": %s, "peak_tflops": %s, "device": "%s"}\n' \
  "$warmup" "$steps" "$window" "$profile" "$hbm" "$peak" "$device" > "$out/settings.json"
[ "$device" = cuda ] && command -v nvidia-smi > /dev/null &&
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv > "$out/gpu.txt"

total=$((warmup + steps + profile))
first=$((warmup + steps + 1))
while read -r model batch frames size; do
  [ -n "$model" ] || continue
  if [ -n "${PERF_MODELS:-}" ] && ! grep -qw "$model" <<<"${PERF_MODELS//,/ }"; then
    continue
  fi
  for plan in "$plans/$model.fb" "$plans/$model-"*.fb; do
    [ -f "$plan" ] || continue
    name=$(basename "$plan" .fb)
    echo "run.sh: $name: varrun" >&2
    rm -f "$out/$name.varrun.jsonl"
    timeout "$limit" "$varrun" "$plan" --device="$device" \
      --data=builtin:random --steps="$total" --log-every="$window" \
      --train-size=$((batch * total)) --eval-size="$batch" \
      --profile-steps="$first:$total" --peak-tflops="$peak" \
      --metrics="$out/$name.varrun.jsonl" > "$out/$name.varrun.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || echo "run.sh: $name: varrun error: exit $rc (see $name.varrun.log)" >> "$out/$name.varrun.log"
  done
  for mode in ${modes//,/ }; do
    echo "run.sh: $model: PyTorch $mode" >&2
    timeout "$limit" "$python" "$here/torch_bench.py" --models="$model" \
      --modes="$mode" --device="$device" --batch="$batch" --frames="$frames" \
      --size="$size" --warmup="$warmup" --steps="$steps" --window="$window" \
      ${TORCH_BENCH_ARGS:-} --out="$out/torch.jsonl" \
      >> "$out/torch.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
      printf '{"model": "%s", "mode": "%s", "error": "torch_bench.py exit %d (see torch.log)"}\n' \
        "$model" "$mode" "$rc" >> "$out/torch.jsonl"
    fi
  done
done < "$plans/models.txt"
"$python" "$here/report.py" "$out" | tee "$out/table.md"
