#!/usr/bin/env bash
# docs/distributed.md's table: one process with 2 threads against 2 processes (--nproc 2) with one
# thread each, on this machine's 2 cores. Alternates the two, 3 runs each, and prints the median
# steps per second, the ratio, the share of rank 0's step spent waiting on the all-reduce after
# backward (metrics.jsonl's allreduce_wait_share, first interval left out), and the gradient
# bytes each step all-reduces. Both draw the same 2 shards, so they train the same model.
#   bench/distributed.sh [build/flowmatch]
set -euo pipefail
bin=$(realpath "${1:-build/flowmatch}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | sed -n 2p; }
echo "| model, batch | 1 process x 2 threads, steps/s | 2 processes x 1 thread, steps/s | ratio | all-reduce wait, share of step | gradient bytes per step |"
echo "| --- | --- | --- | --- | --- | --- |"
while IFS='|' read -r name steps options; do
  one="" two="" share="" bytes=""
  for rep in 1 2 3; do
    common="train $options --steps $steps --log-every $((steps / 4)) --checkpoint-every 0 --ema 0 --shards 2 --overwrite"
    seconds=$("$bin" $common --threads 2 --out "$work/one" 2>/dev/null | awk '/^train_seconds:/ {print $2}')
    one+="$(awk -v s="$seconds" -v n="$steps" 'BEGIN {print n / s}')"$'\n'
    seconds=$("$bin" $common --threads 1 --nproc 2 --out "$work/two" 2>"$work/two.err" | awk '/^train_seconds:/ {print $2}')
    two+="$(awk -v s="$seconds" -v n="$steps" 'BEGIN {print n / s}')"$'\n'
    share+="$(tail -n +2 "$work/two/metrics.jsonl" | grep -o '"allreduce_wait_share":[0-9.e-]*' | cut -d: -f2 |
              awk '{ s += $1; n++ } END { print s / n }')"$'\n'
    bytes=$(grep -o '[0-9]* bytes per step' "$work/two.err" | cut -d' ' -f1)
  done
  awk -v name="$name" -v a="$(printf '%s' "$one" | median)" -v b="$(printf '%s' "$two" | median)" \
      -v w="$(printf '%s' "$share" | median)" -v bytes="$bytes" \
      'BEGIN {printf "| %s | %.1f | %.1f | %.2f | %.0f %% | %.2f MB |\n", name, a, b, b / a, 100 * w, bytes / 1e6}'
done <<'RUNS'
mlp, 512|400|--data checkerboard --batch 512
mlp, 4096|80|--data checkerboard --batch 4096
seed-mlp, 64|1000|--data checkerboard --model seed-mlp --batch 64
unet, 64|40|--data fashion-mnist --batch 64
RUNS
