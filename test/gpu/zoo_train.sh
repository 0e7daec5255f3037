#!/usr/bin/env bash
# Trains every plan in PLANDIR (make_zoo_plans.sh) for 100 steps on the
# CUDA backend, JOBS at a time on the one GPU, on one fixed random batch
# (--data=builtin:random): a run passes when it finishes, every logged loss
# is finite and the last is below half the first (the batch is being
# learnt). One line per plan: losses, frames/s, GPU memory; a failure
# prints FAILED. Usage: zoo_train.sh PLANDIR [JOBS] (varrun on PATH;
# DEVICE=cpu for a trial of the script without a GPU)
set -uo pipefail
dir=$1
jobs=${2:-3}
mkdir -p "$dir/runs"
export dir
one() {
  local plan=$1 name log metrics
  name=$(basename "$plan" .fb)
  log="$dir/runs/$name.log"
  metrics="$dir/runs/$name.jsonl"
  if ! varrun "$plan" --device="${DEVICE:-cuda}" --data=builtin:random \
      --steps=100 \
      --log-every=10 --eval-size=8 --metrics="$metrics" > "$log" 2>&1; then
    echo "$name: FAILED (see $log: $(grep -m1 -i error "$log"))"
    return
  fi
  python3 - "$name" "$metrics" <<'PY'
import json, math, sys
name, path = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(path) if '"train"' in l]
losses = [r["loss"] for r in rows]
ok = (len(rows) == 10 and all(math.isfinite(x) for x in losses) and
      losses[-1] < 0.5 * losses[0])
last = rows[-1]
print("%s: %s losses %s; %.0f frames/s; GPU memory %s MiB" % (
    name, "ok" if ok else "FAILED", " ".join("%.3g" % x for x in losses),
    last.get("frames_per_s", 0), last.get("device_mib", "?")))
PY
}
export -f one
ls "$dir"/*.fb | xargs -P "$jobs" -I{} bash -c 'one {}' | sort |
  tee "$dir/verdicts.txt"
if ! grep -q FAILED "$dir/verdicts.txt"; then
  echo "zoo: every plan trained 100 steps"
  exit 0
fi
exit 1
