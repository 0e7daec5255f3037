#!/usr/bin/env bash
# `make demo`: the main job on built-in defaults. Today that is compiling the
# basic CNN from models/ and reporting its size and FLOPs; it grows into a
# training run as the compiler and runtime land.
set -euo pipefail
build=${1:-build}
model=models/basic_cnn.mlir

echo "== varc $model --summary"
"$build/bin/varc" "$model" --summary
echo
echo "== the same model at batch 16"
"$build/bin/varc" "$model" --summary --batch=16 | grep -E "input|output|per clip"
