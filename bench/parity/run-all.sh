#!/bin/bash
# Every model of the parity comparison, as trained and --smooth, in parallel:
#   run-all.sh LOGDIR [parity.py options, e.g. --bin DIR --plans DIR
#                      --torch-device cuda]
# One log per model and variant in LOGDIR, a summary line per run on
# stdout; exits 1 if any run failed. varrun's CPU backend is single-threaded,
# so the runs share the cores (PARITY_JOBS at once, default 8).
# PARITY_MODELS: the models to run; PARITY_WORK: where each run keeps its
# weights, batch and dumps (default LOGDIR).
set -u
logs=${1:?usage: run-all.sh LOGDIR [parity.py options]}
shift
mkdir -p "$logs"
export PARITY_SCRIPT="$(cd "$(dirname "$0")" && pwd)/parity.py"
export PARITY_LOGS=$logs PARITY_WORK=${PARITY_WORK:-$logs}

one() {
  local model=$1 batch=$2 variant=$3 flag= start rc
  shift 3
  [ "$variant" = smooth ] && flag=--smooth
  start=$(date +%s)
  python3 "$PARITY_SCRIPT" --model "$model" --micro-batch "$batch" $flag \
    --workdir "$PARITY_WORK/$model-$variant" "$@" \
    > "$PARITY_LOGS/$model-$variant.log" 2>&1
  rc=$?
  echo "$model $variant: $(tail -1 "$PARITY_LOGS/$model-$variant.log" |
    cut -d';' -f1) ($(( $(date +%s) - start )) s)"
  return $(( rc != 0 ))
}
export -f one
extra=
[ $# -gt 0 ] && extra=$(printf '%q ' "$@")

for model in ${PARITY_MODELS:-r2plus1d_18 vgg11_bn ensemble cnn_lstm mobilenet_v2 efficientnet_b0 tiny}; do
  batch=2
  [ "$model" = tiny ] && batch=4
  for variant in plain smooth; do
    echo "$model $batch $variant"
  done
done | xargs -P "${PARITY_JOBS:-8}" -L 1 bash -c 'one "$@" '"$extra" _
[ "${PIPESTATUS[1]}" = 0 ]
