#!/usr/bin/env bash
# Installs the Debian packages VAR builds against. Idempotent: asks apt only for
# what dpkg does not already report as installed.
set -euo pipefail

packages=(
  cmake ninja-build g++ python3 git
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  flatbuffers-compiler libflatbuffers-dev
  libgtest-dev
  libgloo-dev
  pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  ffmpeg libturbojpeg0-dev
  slurmctld slurmd slurm-client munge
  libprotobuf-dev protobuf-compiler
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
