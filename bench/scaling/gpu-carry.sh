#!/usr/bin/env bash
# Packs the multi-GPU runs for a machine of several GPUs: varrun and its
# libraries (bench/perf/gpu-carry.sh, into .gpu/scaling), comm-bench, the
# plans (compile-plans.sh) and run.sh, the command to run there:
#   bench/scaling/gpu-carry.sh [BUILD_DIR]
#   run(command="bash .gpu/scaling/run.sh", carry=[".gpu/scaling"],
#       kind="nvidia-h100-x8")   (or the largest kind `status` lists)
# Logs, weights and traces go to $OUT/scaling; the equivalence and scaling
# lines to the output.
set -euo pipefail
build=${1:-build}
out=.gpu/scaling
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$build/bin/comm-bench" ] || { echo "gpu-carry: build comm-bench first" >&2; exit 1; }
PERF_CARRY_OUT=$out PERF_MODELS=mobilenet_v2 "$here/../perf/gpu-carry.sh" "$build"
rm -rf "$out/plans"
VARC="$build/bin/varc" "$here/compile-plans.sh" "$out/plans"
cp "$build/bin/comm-bench" "$out/libexec/comm-bench"
strip "$out/libexec/comm-bench"
sed 's|/libexec/varrun|/libexec/comm-bench|' "$out/bin/varrun" > "$out/bin/comm-bench"
chmod +x "$out/bin/comm-bench"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU machine, from the repository root: bench/scaling/run.sh with
# the carried binaries and plans, output in $OUT/scaling (or scaling-out).
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$here/bin:$PATH
out=${OUT:-scaling-out}/scaling
bash "$here/../../bench/scaling/run.sh" "$here/plans" "$out"
status=$?
# What comes back: at most 8 files, so the logs travel as one archive.
tar czf "$out.tgz" -C "$(dirname "$out")" scaling
rm -rf "$out"
exit $status
RUN
chmod +x "$out/run.sh"
echo "gpu-carry: $out holds varrun, comm-bench and $(ls "$out/plans"/*/*.fb | wc -l) plans, $(du -sm "$out" | cut -f1) MiB"
