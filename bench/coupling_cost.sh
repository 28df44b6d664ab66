#!/usr/bin/env bash
# The ot coupling's share of a training step, at batch 256 and 1024 (docs/straight.md).
# Alternates `flowmatch train` with --coupling independent and ot, 3 runs each, 2 threads, and
# prints the median milliseconds per step and ot's share of the step.
#   bench/coupling_cost.sh [build/flowmatch]
set -euo pipefail
bin=$(realpath "${1:-build/flowmatch}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | sed -n 2p; }
echo "| batch | independent, ms/step | ot, ms/step | ot's share of the step |"
echo "| --- | --- | --- | --- |"
for batch in 256 1024; do
  steps=$([[ $batch == 256 ]] && echo 300 || echo 80)
  declare -A times=([independent]="" [ot]="")
  for rep in 1 2 3; do
    for coupling in independent ot; do
      seconds=$("$bin" train --data checkerboard --out "$work/$coupling" --overwrite --coupling "$coupling" \
        --batch "$batch" --steps "$steps" --log-every "$steps" --threads 2 2>/dev/null | awk '/^train_seconds:/ {print $2}')
      times[$coupling]+="$(awk -v s="$seconds" -v n="$steps" 'BEGIN {print 1000 * s / n}')"$'\n'
    done
  done
  independent=$(printf '%s' "${times[independent]}" | median)
  ot=$(printf '%s' "${times[ot]}" | median)
  awk -v b="$batch" -v i="$independent" -v o="$ot" 'BEGIN {printf "| %d | %.1f | %.1f | %.0f %% |\n", b, i, o, 100 * (1 - i / o)}'
done
