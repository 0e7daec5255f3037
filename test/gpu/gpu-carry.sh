#!/usr/bin/env bash
# Packs the CUDA backend's GPU checks for the GPU machine (it has CUDA,
# cuDNN, NCCL and PyTorch, not our Debian libraries or varc): varrun and its
# libraries (bench/perf/gpu-carry.sh, into .gpu/gpu-tests), the GPU test
# binaries, the zoo and parity plans (compiled here) and run.sh:
#   test/gpu/gpu-carry.sh [BUILD_DIR]
#   run(command="bash .gpu/gpu-tests/run.sh", carry=[".gpu/gpu-tests"],
#       kind="nvidia-h100-x2", timeout_s=600)
# run.sh: every GPU test binary (CudaGraphTest on the plans compiled here,
# $VAR_GPU_PLANS), then zoo_train.sh (every zoo model 100
# BF16 steps at every ZeRO stage) on GPU 0 beside backend_parity.sh on the
# last GPU; one line per test binary and per plan, the logs in
# $OUT/gpu-tests.tgz (weights left out: the files that come back are
# small).
set -euo pipefail
build=${1:-build}
out=.gpu/gpu-tests
here=$(cd "$(dirname "$0")" && pwd)
PERF_CARRY_OUT=$out PERF_MODELS=mobilenet_v2 \
  "$here/../../bench/perf/gpu-carry.sh" "$build"
rm -rf "$out/plans"
mkdir -p "$out/data"
for test in CudaOpTest CudaOpChannelsLastTest CudaChannelsLastRepeatTest CudaBatchNormActivationTest \
  CudaLstmTest CudaDistTest NcclTest CudaGraphTest; do
  cp "$build/bin/$test" "$out/libexec/$test"
  strip "$out/libexec/$test"
  sed "s|/libexec/varrun|/libexec/$test|" "$out/bin/varrun" > "$out/bin/$test"
  chmod +x "$out/bin/$test"
done
plans=$(mktemp -d)
PATH=$build/bin:$PATH bash "$here/make_zoo_plans.sh" "$here/../../models" \
  "$plans/zoo" > /dev/null
PATH=$build/bin:$PATH bash "$here/make_parity_plans.sh" "$here/../../models" \
  "$plans/parity" > /dev/null
# CudaGraphTest's plans, named as its planFileName() names them.
mkdir -p "$plans/graphs"
while IFS='|' read -r model flags; do
  name=$(printf '%s.%s' "$model" "$flags" | sed 's/[^A-Za-z0-9.]/_/g')
  # shellcheck disable=SC2086 # the flags are words
  "$build/bin/varc" "$here/../varrun/Inputs/$model" $flags \
    -o "$plans/graphs/$name.fb" > /dev/null
done <<'PLANS'
tiny_bn_cnn.mlir|--zero-stage=0 --micro-batch=4
tiny_cnn_dropout.mlir|--zero-stage=1 --grad-accum=3 --micro-batch=2
tiny_bn_cnn.mlir|--zero-stage=3 --bucket-mb=0.005 --grad-clip=0.5 --micro-batch=4
tiny_cnn_dropout.mlir|--precision=fp32 --zero-stage=2 --optimizer=sgd --micro-batch=4
tiny_bn_cnn.mlir|--zero-stage=2 --offload-optimizer --micro-batch=4
tiny_bn_cnn.mlir|--zero-stage=3 --offload-optimizer --bucket-mb=0.005 --micro-batch=4
tiny_bn_cnn.mlir|--zero-stage=3 --offload-optimizer --offload-params --micro-batch=4
tiny_bn_cnn.mlir|--zero-stage=0 --channels-last --fuse-bn-act --micro-batch=4
PLANS
tar cJf "$out/data/plans.txz" -C "$plans" zoo parity/plans graphs
rm -rf "$plans"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU machine, from the repository root (see test/gpu/gpu-carry.sh).
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH=$here/bin:$PATH NCCL_NVLS_ENABLE=0
work=/tmp/gpu-tests
export VAR_GPU_PLANS=$work/graphs
rm -rf "$work" && mkdir -p "$work" && tar xJf "$here/data/plans.txz" -C "$work"
# The libraries travel compressed (the device tool carries 64 MiB).
[ -d "$here/lib" ] || tar xJf "$here/data/lib.txz" -C "$here"
gpus=$(nvidia-smi -L | grep -c '^GPU')
for test in CudaOpTest CudaOpChannelsLastTest CudaChannelsLastRepeatTest CudaBatchNormActivationTest \
  CudaLstmTest CudaDistTest NcclTest CudaGraphTest; do
  timeout 120 "$test" --gtest_brief=1 --gtest_filter=-Nccl.RefusesNvlinkMulticast \
    > "$work/$test.log" 2>&1
  echo "$test rc=$? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$work/$test.log" | tr '\n' ' ')"
  grep -A3 Failure "$work/$test.log" | head -12
done
grep -h -A1 "ms replayed" "$work/CudaGraphTest.log" | head -16
# Two ranks whose recorded step holds NCCL collectives: the job must
# replay it and exit (a graph left alive would keep NCCL's communicator
# from being destroyed, and the ranks from ending).
if ((gpus >= 2)); then
  for plan in "$work"/graphs/tiny_bn_cnn.mlir.__zero_stage_3*.fb; do
    timeout 120 varrun "$plan" --nproc-per-node=2 \
      --data=builtin:random --steps=6 --log-every=3 --eval-size=8 \
      > "$work/nccl-graphs.log" 2>&1
    echo "nccl step graphs on 2 ranks: rc=$? $(grep -o '[0-9]* runs replayed' "$work/nccl-graphs.log")"
  done
fi
( CUDA_VISIBLE_DEVICES=0 timeout 300 bash "$root/test/gpu/zoo_train.sh" "$work/zoo" 4 \
    > "$work/zoo.txt" 2>&1 ) &
( CUDA_VISIBLE_DEVICES=$((gpus - 1)) timeout 300 bash "$root/test/gpu/backend_parity.sh" \
    "$work/parity" 14 > "$work/parity.txt" 2>&1 ) &
wait
sed -E 's/losses ([^ ;]+) [^;]* ([^ ;]+);/losses \1 .. \2;/' "$work/zoo.txt"
sed -E 's/ in [^ ,;]+//g' "$work/parity.txt"
tar czf "${OUT:-/tmp}/gpu-tests.tgz" --exclude='*.safetensors' --exclude='*.st' \
  -C "$work" .
RUN
chmod +x "$out/run.sh"
tar cJf "$out/data/lib.txz" -C "$out" lib && rm -rf "$out/lib"
echo "gpu-carry: $out, $(du -sm "$out" | cut -f1) MiB"
