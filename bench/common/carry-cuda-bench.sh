# Shared by the packers of the CUDA microbenchmarks (bench/layout and
# bench/norm gpu-carry.sh), whose binaries need only CUDA's libraries, which
# the GPU machine has, and libstdc++. Source it, then
#   carry_cuda_bench BUILD_DIR NAME OUT
# copies BUILD_DIR/bin/NAME into OUT (emptied first), stripped, beside a
# run.sh that puts the machine's CUDA, cuDNN and NCCL libraries on the
# library path and runs it with its arguments.
carry_cuda_bench() {
  local build=$1 name=$2 out=$3
  rm -rf "$out" && mkdir -p "$out"
  cp "$build/bin/$name" "$out/$name"
  strip "$out/$name"
  cat > "$out/run.sh" <<RUN
#!/usr/bin/env bash
here=\$(cd "\$(dirname "\$0")" && pwd)
nv=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
export LD_LIBRARY_PATH=\$nv/cudnn/lib:\$nv/cu13/lib:\$nv/nccl/lib:/usr/local/cuda/lib64\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
exec "\$here/$name" "\$@"
RUN
  chmod +x "$out/run.sh"
  echo "gpu-carry: $out, $(du -sm "$out" | cut -f1) MiB"
}
