#!/usr/bin/env bash
# Packs layout-bench for the GPU machine:
#   bench/layout/gpu-carry.sh [BUILD_DIR]
#   run(command="bash .gpu/layout/run.sh", carry=[".gpu/layout"])
# run.sh prints one line per op and type: NCHW ms, NHWC ms, speedup.
set -euo pipefail
# shellcheck source=../common/carry-cuda-bench.sh
. "$(dirname "$0")/../common/carry-cuda-bench.sh"
carry_cuda_bench "${1:-build}" layout-bench .gpu/layout
