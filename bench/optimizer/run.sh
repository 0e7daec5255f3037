#!/usr/bin/env bash
# The host optimizer of an offloaded step against PyTorch's CPU AdamW, on
# the same bucket in the same run: host-adamw-bench, then torch_adamw.py
# (fused, else foreach: the faster), then the ratio.
#   bench/optimizer/run.sh [ELEMENTS]   (default 2319360: mobilenet_v2's
#                                        bf16 bucket)
# host-adamw-bench must be on PATH (or HOST_ADAMW_BENCH=path); PYTHON names
# the Python with torch (default /opt/torch/.venv/bin/python where it
# exists, else python3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
elements=${1:-2319360}
bench=${HOST_ADAMW_BENCH:-host-adamw-bench}
python=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x /opt/torch/.venv/bin/python ] &&
  python=/opt/torch/.venv/bin/python
ours=$("$bench" --elements="$elements")
theirs=$("$python" "$here/torch_adamw.py" --elements="$elements")
echo "$ours"
echo "$theirs"
python3 -c 'import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if theirs["ms"] is None:
    sys.exit("run.sh: PyTorch timed no mode: %s" % theirs["modes"])
print("host AdamW, %d elements: varrun %.3f ms (%d threads, %.1f GB/s), "
      "PyTorch %s %.3f ms (%d threads): %.2fx" % (
          ours["elements"], ours["ms"], ours["threads"], ours["gb_per_s"],
          theirs["mode"], theirs["ms"], theirs["threads"],
          theirs["ms"] / ours["ms"]))' "$ours" "$theirs"
