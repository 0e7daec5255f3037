#!/usr/bin/env bash
# Packs one device call's worth of GPU work into .gpu/session, for a
# session whose device time is short (30 minutes, each machine start a
# minute or two of it): first, alone on the machine, the perf benchmark on
# GPU 0 (every zoo model, -cl and -fba plans, ZeRO-3 with the optimizer
# offloaded, PyTorch eager in the same call); then on the last GPU the GPU
# test suites and the zoo (every model at every ZeRO stage, 100 BF16 steps,
# arenas poisoned with NaN bytes) beside CPU-against-CUDA parity on GPU 0;
# on a machine of several GPUs, then NcclTest and the ZeRO equivalence and
# weak scaling runs on all of them.
#   bench/session/gpu-carry.sh [BUILD_DIR]
#   run(command="bash .gpu/session/run.sh", carry=[".gpu/session"],
#       kind="nvidia-h200-x2", timeout_s=600)
# run.sh prints each part's lines with the seconds since its start; the
# logs come back in $OUT/session.tgz. The default parts took 422 s on
# 4 x H200 (perf 218 s, parity 200 s, tests and zoo 164 s beside it);
# scaling (142 s on 4 GPUs) fits a second call, PARTS=scaling, on the same
# warm machine. Environment there: PARTS (any of tests, zoo, perf,
# convs, stem, adamw, parity, scaling; default tests,zoo,perf,parity; convs
# is bench/perf/torch_convs.py, about 60 s; stem is bench/stem's stem-bench;
# adamw is bench/optimizer's host AdamW against PyTorch's), PERF_PLANS (perf-plans,
# or compile-plans), PERF_MODELS,
# PERF_TIMEOUT, PERF_MODES (eager; eager,compile adds torch.compile at a
# minute or more a model), and each part's time limit in seconds:
# TESTS_S (150 a suite), ZOO_S (300), PERF_S (330), CONVS_S (120), STEM_S (120),
# ADAMW_S (120),
# PARITY_S (200), SCALING_S (240).
set -euo pipefail
build=${1:-build}
out=.gpu/session
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
varc="$build/bin/varc"

# The tests, zoo and parity plans and varrun with its libraries.
"$root/test/gpu/gpu-carry.sh" "$build" > /dev/null
rm -rf "$out" && cp -r .gpu/gpu-tests "$out"
# stem-bench, wrapped as the test binaries are (CUDA's library path).
cp "$build/bin/stem-bench" "$out/libexec/stem-bench"
strip "$out/libexec/stem-bench"
sed "s|/libexec/varrun|/libexec/stem-bench|" "$out/bin/varrun" > "$out/bin/stem-bench"
chmod +x "$out/bin/stem-bench"

# host-adamw-bench (a host program: no CUDA library path).
cp "$build/bin/host-adamw-bench" "$out/bin/host-adamw-bench"
strip "$out/bin/host-adamw-bench"

# The perf plans: every model -cl and -fba, mobilenet_v2 at ZeRO-3 with
# the optimizer offloaded (25 MiB and 1 MiB buckets), r2plus1d_18 -fba without channel padding and
# with its largest batch norm result recomputed (--recompute-bn=1), and
# vgg11_bn -fba with its convolution biases (--fold-bn-bias=false) and
# with its batch norms apart from their max pools (--fuse-bn-pool=false).
VARC="$varc" "$root/bench/perf/compile-plans.sh" "$out/perf-plans" > /dev/null
while read -r model _; do
  rm -f "$out/perf-plans/$model.fb" # the channels-first plans: not measured
done < "$out/perf-plans/models.txt"
mlir=$(mktemp --suffix=.mlir)
python3 "$root/models/gen/mobilenet_v2.py" --frames 8 --size 224 \
  --classes 101 > "$mlir"
"$varc" "$mlir" --precision=bf16 --optimizer=adamw --zero-stage=3 \
  --offload-optimizer --micro-batch=16 --channels-last \
  -o "$out/perf-plans/mobilenet_v2-off3.fb" > /dev/null
# The same with 1 MiB buckets: the host updates the buckets backward has
# finished while it computes the rest.
"$varc" "$mlir" --precision=bf16 --optimizer=adamw --zero-stage=3 \
  --offload-optimizer --bucket-mb=1 --micro-batch=16 --channels-last \
  -o "$out/perf-plans/mobilenet_v2-off3b1.fb" > /dev/null
python3 "$root/models/gen/r2plus1d_18.py" --frames 16 --size 112 \
  --classes 101 > "$mlir"
"$varc" "$mlir" --precision=bf16 --optimizer=adamw --micro-batch=16 \
  --channels-last --pad-channels=0 \
  -o "$out/perf-plans/r2plus1d_18-unpadded.fb" > /dev/null
"$varc" "$mlir" --precision=bf16 --optimizer=adamw --micro-batch=16 \
  --channels-last --recompute-bn=1 \
  -o "$out/perf-plans/r2plus1d_18-recompute1.fb" > /dev/null
python3 "$root/models/gen/vgg11_bn.py" --frames 8 --size 224 \
  --classes 101 > "$mlir"
"$varc" "$mlir" --precision=bf16 --optimizer=adamw --micro-batch=8 \
  --channels-last --fold-bn-bias=false \
  -o "$out/perf-plans/vgg11_bn-biased.fb" > /dev/null
"$varc" "$mlir" --precision=bf16 --optimizer=adamw --micro-batch=8 \
  --channels-last --fuse-bn-pool=false \
  -o "$out/perf-plans/vgg11_bn-unpooled.fb" > /dev/null
rm -f "$mlir"

# For a torch.compile call (PERF_PLANS=compile-plans PERF_MODES=compile):
# the -fba plans of the two models whose compiled PyTorch ran furthest
# ahead of eager on an H100 (vgg11_bn 1.49x, r2plus1d_18 1.56x).
mkdir -p "$out/compile-plans"
grep -E '^(vgg11_bn|r2plus1d_18) ' "$out/perf-plans/models.txt" \
  > "$out/compile-plans/models.txt"
for model in vgg11_bn r2plus1d_18; do
  cp "$out/perf-plans/$model-fba.fb" "$out/compile-plans/"
done

# The test binaries and varrun travel compressed (the device tool carries
# 64 MiB).
(cd "$out" && tar cJf data/tests.txz libexec/Cuda* libexec/NcclTest \
  libexec/varrun libexec/stem-bench && rm libexec/Cuda* libexec/NcclTest \
  libexec/varrun libexec/stem-bench)

# The scaling plans.
VARC="$varc" "$root/bench/scaling/compile-plans.sh" "$out/scaling-plans" \
  > /dev/null

cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU machine, from the repository root (bench/session/gpu-carry.sh).
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH=$here/bin:$PATH NCCL_NVLS_ENABLE=0
[ -d "$here/lib" ] || tar xJf "$here/data/lib.txz" -C "$here"
[ -x "$here/libexec/varrun" ] || tar xJf "$here/data/tests.txz" -C "$here"
work=/tmp/session
rm -rf "$work" && mkdir -p "$work" && tar xJf "$here/data/plans.txz" -C "$work"
export VAR_GPU_PLANS=$work/graphs
parts=${PARTS:-tests,zoo,perf,parity}
want() { [[ ",$parts," == *",$1,"* ]]; }
start=$(date +%s)
say() { echo "[$(($(date +%s) - start)) s] $*"; }
nvidia-smi -L
gpus=$(nvidia-smi -L | grep -c '^GPU')
last=$((gpus - 1))

# GPU 0, alone on the machine: perf (PyTorch eager is host-bound, and
# another GPU's work on the same host slows it).
if want perf; then
  CUDA_VISIBLE_DEVICES=0 PERF_MODES=${PERF_MODES:-eager} \
    PERF_TIMEOUT=${PERF_TIMEOUT:-90} timeout "${PERF_S:-330}" \
    bash "$root/bench/perf/run.sh" "$here/${PERF_PLANS:-perf-plans}" "$work/perf" 2> /dev/null |
    grep -E '^\| [a-z]'
  say "perf done"
fi
# PyTorch's convolutions of vgg11_bn and r2plus1d_18, each alone (beside
# the convolution rows of perf's varrun profiles: where the gap is).
if want convs; then
  CUDA_VISIBLE_DEVICES=0 timeout "${CONVS_S:-120}" /opt/torch/.venv/bin/python \
    "$root/bench/perf/torch_convs.py" --out "$work/convs.jsonl" > /dev/null 2>&1
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("PyTorch convolutions, %s: %s ms a step" % (r["model"], ", ".join(
        "%s %.2f" % kv for kv in r["ms_per_step"].items())))' "$work/convs.jsonl"
  say "convs done"
fi
# The fused RGB-stem kernels against the patch GEMM (bench/stem), alone.
if want stem; then
  CUDA_VISIBLE_DEVICES=0 timeout "${STEM_S:-120}" stem-bench
  say "stem done rc=$?"
fi
# The host optimizer of an offloaded step against PyTorch's CPU AdamW
# (bench/optimizer), alone on the machine's cores.
if want adamw; then
  timeout "${ADAMW_S:-120}" bash "$root/bench/optimizer/run.sh" | tail -1
  say "adamw done"
fi
# Then the last GPU: the test suites and the zoo, beside parity on GPU 0.
(
  export CUDA_VISIBLE_DEVICES=$last
  if want tests; then
    for test in CudaOpTest CudaOpChannelsLastTest CudaChannelsLastRepeatTest CudaBatchNormActivationTest \
      CudaLstmTest CudaDistTest CudaGraphTest; do
      timeout "${TESTS_S:-150}" "$test" --gtest_brief=1 > "$work/$test.log" 2>&1
      say "$test rc=$? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$work/$test.log" | tr '\n' ' ')"
      grep -B1 -A8 Failure "$work/$test.log" | head -40
    done
  fi
  if want zoo; then
    VAR_POISON_ARENA=1 timeout "${ZOO_S:-300}" \
      bash "$root/test/gpu/zoo_train.sh" "$work/zoo" 4 > "$work/zoo.txt" 2>&1
    sed -E 's/losses ([^ ;]+) [^;]* ([^ ;]+);/losses \1 .. \2;/' "$work/zoo.txt" |
      grep -v ': ok' | head -12
    say "zoo, arenas poisoned: $(grep -c ': ok' "$work/zoo.txt") ok of" \
      "$(find "$work/zoo/runs" -name '*.log' 2>/dev/null | wc -l) run"
  fi
) > "$work/last-gpu.txt" 2>&1 &

if want parity; then
  CUDA_VISIBLE_DEVICES=0 timeout "${PARITY_S:-200}" \
    bash "$root/test/gpu/backend_parity.sh" "$work/parity" 14 \
    > "$work/parity.txt" 2>&1
  sed -E 's/ in [^ ,;]+//g' "$work/parity.txt" | grep -- '-wc-' |
    grep -v 'gradients ok' | head -12
  say "parity: $(grep -- '-wc-' "$work/parity.txt" | grep -c 'gradients ok')" \
    "well-conditioned plans within 1e-4"
fi
wait
cat "$work/last-gpu.txt"

# Every GPU: the NCCL tests, equivalence and weak scaling.
if want scaling && ((gpus > 1)); then
  timeout "${TESTS_S:-150}" NcclTest --gtest_brief=1 \
    --gtest_filter=-Nccl.RefusesNvlinkMulticast > "$work/NcclTest.log" 2>&1
  say "NcclTest rc=$? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$work/NcclTest.log" | tr '\n' ' ')"
  PARTS=eq,scale timeout "${SCALING_S:-240}" \
    bash "$root/bench/scaling/run.sh" "$here/scaling-plans" "$work/scaling" |
    grep -v '^run.sh'
  say "scaling done"
fi
tar czf "${OUT:-/tmp}/session.tgz" --exclude='*.safetensors' --exclude='*.st' \
  --exclude='*.trace.json*' -C "$work" .
RUN
chmod +x "$out/run.sh"
echo "gpu-carry: $out, $(du -sm "$out" | cut -f1) MiB"
