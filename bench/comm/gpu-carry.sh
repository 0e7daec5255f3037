#!/usr/bin/env bash
# Packs comm-bench, torch_comm_bench.py and NcclTest for the GPU machine:
# the stripped binaries, the shared libraries they need that the machine
# lacks (Gloo and its dependencies), and run.sh, which runs all three.
#   bench/comm/gpu-carry.sh [BUILD_DIR] [OUT_DIR]
#   run(command="OUT=$OUT .gpu/nccl/run.sh", carry=[".gpu/nccl"])
# CUDA's runtime, cuBLAS, cuDNN and NCCL come from the machine (its CUDA and
# the NVIDIA wheels of its PyTorch: NCCL 2.28.9 there, as here).
set -euo pipefail
build=${1:-build}
out=${2:-.gpu/nccl}
here=$(cd "$(dirname "$0")" && pwd)
for bin in comm-bench NcclTest; do
  [ -x "$build/bin/$bin" ] || { echo "gpu-carry: build $bin first" >&2; exit 1; }
done

from_machine() {
  case "$1" in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux-*|\
    libstdc++.so.*|libgcc_s.so.*|libcuda.so.*|libcudart.so.*|libcublas*|\
    libcudnn*|libnccl.so.*) return 0 ;;
  esac
  return 1
}
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
cache=$(ldconfig -p)
locate() { awk -v name="$1" '$1 == name && /x86-64/ { print $NF; exit }' <<<"$cache"; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for bin in comm-bench NcclTest; do
  cp "$build/bin/$bin" "$out/bin/"
  strip "$out/bin/$bin"
done
cp "$here/torch_comm_bench.py" "$out/"

declare -A seen=()
queue=($(needed "$build/bin/comm-bench") $(needed "$build/bin/NcclTest"))
while [ ${#queue[@]} -gt 0 ]; do
  name=${queue[0]}
  queue=("${queue[@]:1}")
  [ -n "${seen[$name]:-}" ] && continue
  seen[$name]=1
  from_machine "$name" && continue
  path=$(locate "$name")
  [ -n "$path" ] || { echo "gpu-carry: cannot find $name" >&2; exit 1; }
  cp -L "$path" "$out/lib/$name"
  strip --strip-unneeded "$out/lib/$name" 2>/dev/null || true
  queue+=($(needed "$path"))
done

cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU machine: NcclTest, then comm-bench and torch_comm_bench.py on
# every GPU, logs into $OUT.
set -u
here=$(cd "$(dirname "$0")" && pwd)
P=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
export LD_LIBRARY_PATH=$P/nccl/lib:$P/cudnn/lib:$P/cu13/lib:/usr/local/cuda/lib64:$here/lib
# The machine's rule: never NVLink multicast.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
{ nvidia-smi -L; nvidia-smi topo -m; ldd "$here/bin/comm-bench"; } > "$OUT/machine.log" 2>&1
grep -E "GPU|NV|libnccl|not found" "$OUT/machine.log" | head -20
echo "== NcclTest"
# RefusesNvlinkMulticast sets NCCL_NVLS_ENABLE=1: it runs on CPU machines
# only. NCCL_DEBUG=WARN: NCCL's own account of any failure.
NCCL_DEBUG=WARN timeout 75 "$here/bin/NcclTest" \
  --gtest_filter=-Nccl.RefusesNvlinkMulticast > "$OUT/nccltest.log" 2>&1
echo "rc=$?"
grep -E "^\[  |rank|launcher|Failure|error" "$OUT/nccltest.log" | head -40
echo "== comm-bench"
timeout 35 "$here/bin/comm-bench" --nproc="${NPROC:-2}" > "$OUT/comm-bench.log" 2>&1
echo "rc=$?"; cat "$OUT/comm-bench.log"
echo "== torch_comm_bench.py"
PYTHONUNBUFFERED=1 timeout 60 python3 "$here/torch_comm_bench.py" --nproc="${NPROC:-2}" > "$OUT/torch-bench.log" 2>&1
echo "rc=$?"; grep -v Warning "$OUT/torch-bench.log" | tail -40
echo "== comm-bench with blocking NCCL calls (no host thread per collective)"
timeout 25 "$here/bin/comm-bench" --nproc="${NPROC:-2}" --nccl-calls=blocking \
  > "$OUT/comm-bench-blocking.log" 2>&1
echo "rc=$?"; cat "$OUT/comm-bench-blocking.log"
echo "== NCCL's own view (NCCL_DEBUG=INFO), ours then torch's, 1 MiB"
NCCL_DEBUG=INFO timeout 20 "$here/bin/comm-bench" --nproc="${NPROC:-2}" --max-mib=1 \
  --iters=2 --warmup=1 > "$OUT/nccl-info.log" 2>&1
NCCL_DEBUG=INFO PYTHONUNBUFFERED=1 timeout 25 python3 "$here/torch_comm_bench.py" \
  --nproc="${NPROC:-2}" --max-mib=1 --iters=2 --warmup=1 >> "$OUT/nccl-info.log" 2>&1
grep -E "NCCL version|NVLS|nvls|Channel 00|via P2P|comm 0x.* rank 0 nRanks|Init COMPLETE" "$OUT/nccl-info.log" | head -30
RUN
chmod +x "$out/run.sh"
size=$(du -sb "$out" | cut -f1)
echo "gpu-carry: $out holds $(ls "$out/lib" | wc -l) libraries, $((size / 1024 / 1024)) MiB"
[ "$size" -lt $((60 * 1024 * 1024)) ] || { echo "gpu-carry: over 60 MiB" >&2; exit 1; }
