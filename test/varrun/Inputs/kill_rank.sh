#!/usr/bin/env bash
# Starts two ranks by hand (torchrun-style variables), kills rank 1 with
# SIGKILL once training runs, and reports how rank 0 ends and how long it
# took. Usage: kill_rank.sh PLAN OUTDIR
set -u
plan=$1
out=$2
mkdir -p "$out"
port=$((20000 + RANDOM % 20000))
common=(--steps=100000 --log-every=1 --train-size=256 --eval-size=64 --comm-timeout=10)
RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
  varrun "$plan" "${common[@]}" > "$out/rank0.log" 2>&1 &
rank0=$!
RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
  varrun "$plan" "${common[@]}" > "$out/rank1.log" 2>&1 &
rank1=$!
# Wait until both train (rank 0 logs steps), at most 30 s.
for _ in $(seq 300); do
  grep -q "^step" "$out/rank0.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "^step" "$out/rank0.log" || { echo "training never started"; cat "$out"/*.log; kill -9 $rank0 $rank1; exit 1; }
kill -9 $rank1
start=$(date +%s.%N)
wait $rank0
code=$?
end=$(date +%s.%N)
seconds=$(python3 -c "print(int(round($end - $start)))")
echo "rank 0 exit code $code after ${seconds}s"
if [ "$seconds" -le 15 ]; then echo "within the bound"; fi
grep -m1 "error" "$out/rank0.log"
