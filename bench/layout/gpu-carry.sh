#!/usr/bin/env bash
# Packs layout-bench for the GPU machine (it needs only CUDA's libraries,
# which the machine has, and libstdc++):
#   bench/layout/gpu-carry.sh [BUILD_DIR]
#   run(command="bash .gpu/layout/run.sh", carry=[".gpu/layout"])
# run.sh prints one line per op and type: NCHW ms, NHWC ms, speedup.
set -euo pipefail
build=${1:-build}
out=.gpu/layout
rm -rf "$out" && mkdir -p "$out"
cp "$build/bin/layout-bench" "$out/layout-bench"
strip "$out/layout-bench"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
here=$(cd "$(dirname "$0")" && pwd)
nv=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
export LD_LIBRARY_PATH=$nv/cudnn/lib:$nv/cu13/lib:$nv/nccl/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$here/layout-bench" "$@"
RUN
chmod +x "$out/run.sh"
echo "gpu-carry: $out, $(du -sm "$out" | cut -f1) MiB"
