#!/usr/bin/env bash
# Packs data-bench for the GPU machine (Ubuntu 24.04, no FFmpeg): the
# stripped binary, every shared library it needs except glibc's, and a test
# video, into .gpu/data/ (ignored by git) for the device tool's `carry`:
#   bench/data/gpu-carry.sh [BUILD_DIR]
#   run(command=".gpu/data/run.sh", carry=[".gpu/data"])
# Debian's libavcodec links every codec library it was built with; decoding
# H.264, MPEG-4, VP8/9 and MJPEG does not use them, so those are replaced by
# stubs (bench/common/carry-libs.sh); the script then decodes the test
# video with only the carried libraries.
set -euo pipefail
build=${1:-build}
out=.gpu/data
bin="$build/bin/data-bench"
[ -x "$bin" ] || { echo "gpu-carry: build data-bench first (ninja -C $build data-bench)" >&2; exit 1; }

source "$(dirname "$0")/../common/carry-libs.sh"

rm -rf "$out"
mkdir -p "$out/lib"
cp "$bin" "$out/data-bench"
strip "$out/data-bench"
carry_libs "$out" "$bin"

"$build/bin/data-bench" --write-video="$out/test-320x240-h264.mp4" --seconds=10 > /dev/null
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU machine: data-bench with the carried libraries. Extra
# arguments go to data-bench (e.g. --threads=1,4,16).
here=$(cd "$(dirname "$0")" && pwd)
LD_LIBRARY_PATH="$here/lib" exec "$here/data-bench" \
  --video="$here/test-320x240-h264.mp4" "$@"
RUN
chmod +x "$out/run.sh"

# Every library must come from the carry (or glibc) when it runs.
check_carried "$out" "$out/data-bench"
# And it decodes with them (opening a file runs every demuxer's probe).
LD_LIBRARY_PATH="$out/lib" "$out/data-bench" \
  --video="$out/test-320x240-h264.mp4" --threads=1 --sizes=112 \
  --seconds=0.2 > /dev/null
size=$(du -sb "$out" | cut -f1)
echo "gpu-carry: $out holds $(ls "$out/lib" | wc -l) libraries ($(ls "$out/lib" | grep -c -F -f <(printf '%s\n' "${stubbed[@]}")) stubs), $((size / 1024 / 1024)) MiB"
[ "$size" -lt $((60 * 1024 * 1024)) ] || { echo "gpu-carry: over 60 MiB" >&2; exit 1; }
