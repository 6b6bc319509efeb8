#!/usr/bin/env bash
# Queue overhead: a 12-cell toy grid (test/fixtures/toy-task; vgg11, alexnet, vgg16 x the paper
# points, random weights, 2 s of waiting per cell on top of its small compute, so that the
# scheduling shows) run locally with --workers 2, then through a throwaway redis-server
# with 1 and with 2 `dpl worker`s (--concurrency 1 each) on this machine. Prints wall seconds.
# Needs a build (npm run build) and /usr/bin/redis-server. Usage: tools/bench/queue-overhead.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPL="node $ROOT/packages/cli/dist/main.js"
TOY="$ROOT/test/fixtures/toy-task"
export DPL_BACKEND=${DPL_BACKEND:-wasm}
W=$(mktemp -d)
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$W/redis.log" 2>&1 &
REDIS=$!
WORKERS=()
cleanup() {
  for p in "${WORKERS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${WORKERS[@]}"; do wait "$p" 2>/dev/null || true; done # they say goodbye to Redis first
  kill "$REDIS" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
cat >"$W/toy12.yaml" <<YAML
name: toy12
weights: random
backbones: [vgg11, alexnet, vgg16]
points: paper
tasks:
  - task: toy
    overrides: { size: 64, images: 4, delayMs: 2000 }
YAML
sleep 1
# wall seconds of a command, and its last line (the run's summary: every cell done?)
secs() {
  local t0=$(date +%s.%N)
  "$@" >"$W/last.log" 2>&1 || { cat "$W/last.log"; exit 1; }
  echo "$(echo "$(date +%s.%N) - $t0" | bc) s ($(tail -1 "$W/last.log"))"
}
echo "local --workers 2: $(secs $DPL run "$W/toy12.yaml" --plugin "$TOY" --store "$W/local.sqlite" --workers 2)"
for n in 1 2; do
  for i in $(seq "$n"); do
    $DPL worker --queue "redis://127.0.0.1:$PORT/$n" --plugin "$TOY" --concurrency 1 >"$W/worker$n-$i.log" 2>&1 &
    WORKERS+=($!)
  done
  sleep 2 # the workers connect (their start is not part of the grid's time)
  echo "queue, $n worker(s): $(secs $DPL run "$W/toy12.yaml" --plugin "$TOY" --store "$W/queue$n.sqlite" --queue "redis://127.0.0.1:$PORT/$n")"
  for p in "${WORKERS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${WORKERS[@]}"; do wait "$p" 2>/dev/null || true; done
  WORKERS=()
done
