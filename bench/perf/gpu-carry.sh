#!/usr/bin/env bash
# Packs bench/perf for the GPU machine (Ubuntu 24.04; CUDA, cuDNN and
# PyTorch there, FFmpeg not): the stripped varrun, every shared library it
# needs that the machine lacks (bench/common/carry-libs.sh), the plans
# (compile-plans.sh) and run.sh, the command to run there, into .gpu/perf/
# (ignored by git) for the device tool's `carry`:
#   bench/perf/gpu-carry.sh [BUILD_DIR]
#   run(command="bash .gpu/perf/run.sh", carry=[".gpu/perf"])
# PERF_MODELS, PERF_BATCH, PERF_FRAMES, PERF_SIZE go to compile-plans.sh;
# PERF_CARRY_OUT packs into another folder (bench/scaling/gpu-carry.sh).
set -euo pipefail
build=${1:-build}
out=${PERF_CARRY_OUT:-.gpu/perf}
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/bin/varrun"
[ -x "$bin" ] || { echo "gpu-carry: build varrun first (ninja -C $build varrun)" >&2; exit 1; }
# A benchmark of an unoptimized build (and varc with LLVM's assertions on)
# would be no benchmark.
grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt" ||
  { echo "gpu-carry: $build is not a Release build (cmake -DCMAKE_BUILD_TYPE=Release)" >&2; exit 1; }
# What the GPU machine has: CUDA's libraries (/usr/local/cuda/lib64, and
# cuDNN and NCCL in PyTorch's environment) and a newer libstdc++.
export CARRY_PROVIDED='libcudart\.so\..*|libcublas\.so\..*|libcublasLt\.so\..*|libcudnn.*\.so\..*|libnccl\.so\..*|libcuda\.so\..*|libstdc\+\+\.so\.6|libgcc_s\.so\.1'
source "$here/../common/carry-libs.sh"

rm -rf "$out"
mkdir -p "$out/bin" "$out/libexec"
cp "$bin" "$out/libexec/varrun"
strip "$out/libexec/varrun"
carry_libs "$out" "$bin"
check_carried "$out" "$out/libexec/varrun"
# varrun on PATH sets its libraries' path itself: PyTorch's Python, run
# beside it, must not load Debian's copies of the system's libraries.
cat > "$out/bin/varrun" <<'WRAP'
#!/usr/bin/env bash
here=$(cd "$(dirname "$0")/.." && pwd)
nv=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
LD_LIBRARY_PATH=$nv/cudnn/lib:$nv/cu13/lib:$nv/nccl/lib:/usr/local/cuda/lib64:$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  exec "$here/libexec/varrun" "$@"
WRAP
chmod +x "$out/bin/varrun"
VARC="$build/bin/varc" "$here/compile-plans.sh" "$out/plans" > /dev/null

cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU machine, from the repository root: bench/perf/run.sh with the
# carried varrun and plans; the logs, JSON and table go to $OUT/perf (or
# perf-out). Environment: see bench/perf/run.sh (PERF_MODELS=... to run a
# part of the models per call).
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$here/bin:$PATH
out=${OUT:-perf-out}/perf
mkdir -p "$out"
nvidia-smi -L > "$out/nvidia-smi.txt" 2>&1
nv=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
if LD_LIBRARY_PATH=$nv/cudnn/lib:$nv/cu13/lib:$nv/nccl/lib:/usr/local/cuda/lib64:$here/lib \
    ldd "$here/libexec/varrun" | grep "not found"; then
  echo "run.sh: varrun lacks these libraries" >&2
  exit 2
fi
varrun --help > /dev/null || { echo "run.sh: varrun does not start" >&2; exit 2; }
exec bash "$here/../../bench/perf/run.sh" "$here/plans" "$out"
RUN
chmod +x "$out/run.sh"
size=$(du -sb "$out" | cut -f1)
echo "gpu-carry: $out holds varrun, $(ls "$out/lib" | wc -l) libraries, $(ls "$out/plans"/*.fb | wc -l) plans, $((size / 1024 / 1024)) MiB"
[ "$size" -lt $((60 * 1024 * 1024)) ] || { echo "gpu-carry: over 60 MiB" >&2; exit 1; }
