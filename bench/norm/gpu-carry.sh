#!/usr/bin/env bash
# Packs norm-bench for the GPU machine (it needs only CUDA's libraries,
# which the machine has, and libstdc++):
#   bench/norm/gpu-carry.sh [BUILD_DIR]
#   run(command="bash .gpu/norm/run.sh", carry=[".gpu/norm"])
# run.sh prints a table of batch norm shapes: forward and backward ms, GB/s, share of copy speed.
set -euo pipefail
build=${1:-build}
out=.gpu/norm
rm -rf "$out" && mkdir -p "$out"
cp "$build/bin/norm-bench" "$out/norm-bench"
strip "$out/norm-bench"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
here=$(cd "$(dirname "$0")" && pwd)
nv=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
export LD_LIBRARY_PATH=$nv/cudnn/lib:$nv/cu13/lib:$nv/nccl/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$here/norm-bench" "$@"
RUN
chmod +x "$out/run.sh"
echo "gpu-carry: $out, $(du -sm "$out" | cut -f1) MiB"
