#!/usr/bin/env bash
# with-gpus.sh N COMMAND...: runs COMMAND with a stand-in nvidia-smi first
# on PATH that lists N GPUs (none for 0), so that var-launch's GPU detection
# can be tested on any machine.
set -euo pipefail
count=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
  echo '#!/bin/sh'
  for ((i = 0; i < count; i++)); do
    echo "echo 'GPU $i: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-0000-0000-0000-00000000000$i)'"
  done
} >"$dir/nvidia-smi"
chmod +x "$dir/nvidia-smi"
PATH=$dir:$PATH "$@"
