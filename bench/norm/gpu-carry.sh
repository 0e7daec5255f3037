#!/usr/bin/env bash
# Packs norm-bench for the GPU machine:
#   bench/norm/gpu-carry.sh [BUILD_DIR]
#   run(command="bash .gpu/norm/run.sh", carry=[".gpu/norm"])
# run.sh prints a table of batch norm shapes: forward and backward ms,
# GB/s, share of copy speed.
set -euo pipefail
# shellcheck source=../common/carry-cuda-bench.sh
. "$(dirname "$0")/../common/carry-cuda-bench.sh"
carry_cuda_bench "${1:-build}" norm-bench .gpu/norm
