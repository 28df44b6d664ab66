#!/usr/bin/env bash
# The discrete flow matching benchmark (docs/discrete.md).
#
#   bench/discrete/run.sh [--flowmatch build/flowmatch] [--out DIR] [--only checkerboard|words]
#                         [--words-args "TRAIN OPTIONS"]
#
# The discrete checkerboard: train with the defaults, draw 100 000 samples at several step counts,
# and score their total variation against the exact 128 x 128 distribution beside that of 100 000
# exact samples. Words: Debian's wamerican list split 90/10 with a fixed seed; train a character
# model, score its held-out bound in bits per character and 10 000 samples, beside a character
# bigram model (bench/discrete/bigram.py, python3). Writes DIR/results.md and keeps every run folder.
set -euo pipefail

flowmatch=build/flowmatch
out=bench/discrete/results
only=""
words_args="--width 512"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --flowmatch) flowmatch=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --words-args) words_args=$2; shift 2 ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -x $flowmatch ]] || { echo "no flowmatch binary at $flowmatch: build first, or pass --flowmatch" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
results=$out/results.md

# value KEY FILE: the value of "KEY: value" in a report.
value() { sed -n "s/^$1: //p" "$2" | head -1; }

if [[ -z $only || $only == checkerboard ]]; then
  cb=$out/checkerboard
  "$flowmatch" train --data discrete-checkerboard --out "$cb" --overwrite > "$out/cb-train.txt" 2>&1
  {
    echo "## discrete-checkerboard, 128 x 128 ($(date -u +%F), train $(value train_seconds "$out/cb-train.txt") s)"
    echo
    echo "| steps (NFE) | TV | TV of 100 000 exact samples | ratio | on a cell | sampling s |"
    echo "| --- | --- | --- | --- | --- | --- |"
  } >> "$results"
  for steps in 25 50 100 200; do
    "$flowmatch" sample "$cb" --n 100000 --steps "$steps" --out "$out/cb-$steps.npy" --png "$out/cb-$steps.png" --overwrite > "$out/cb-sample-$steps.txt" 2>&1
    "$flowmatch" eval "$out/cb-$steps.npy" --target discrete-checkerboard > "$out/cb-eval-$steps.txt" 2>&1
    e=$out/cb-eval-$steps.txt
    printf '| %s | %.4f | %.4f | %.3f | %.4f | %.1f |\n' "$steps" "$(value tv "$e")" "$(value exact_tv "$e")" "$(value tv_ratio "$e")" \
      "$(value on_cell_fraction "$e")" "$(value sample_seconds "$out/cb-sample-$steps.txt")" >> "$results"
  done
  echo >> "$results"
fi

if [[ -z $only || $only == words ]]; then
  words=/usr/share/dict/american-english
  [[ -f $words ]] || { echo "no $words: install Debian's wamerican (scripts/install-deps.sh --bench)" >&2; exit 2; }
  python3 - "$words" "$out" <<'PY'
import random, sys
words = [w for w in open(sys.argv[1], encoding="utf-8").read().split("\n") if w]
random.Random(0).shuffle(words)
k = len(words) // 10
train, heldout = words[k:], words[:k]
seen = set("".join(train))  # a character the training words never hold is outside the model's vocabulary
kept = [w for w in heldout if set(w) <= seen]
print(f"held out {len(heldout)} words; {len(heldout) - len(kept)} with a character unseen in training are left out", file=sys.stderr)
open(sys.argv[2] + "/words-heldout.txt", "w", encoding="utf-8").write("\n".join(kept) + "\n")
open(sys.argv[2] + "/words-train.txt", "w", encoding="utf-8").write("\n".join(train) + "\n")
PY
  run=$out/words
  # shellcheck disable=SC2086
  "$flowmatch" train --data "$out/words-train.txt" --out "$run" $words_args --overwrite > "$out/words-train.log" 2>&1
  "$flowmatch" likelihood "$run" --data "$out/words-heldout.txt" > "$out/words-bound.txt" 2>&1
  for temperature in 1 0.7; do
    "$flowmatch" sample "$run" --n 10000 --temperature "$temperature" --out "$out/words-samples-$temperature.txt" --overwrite > "$out/words-sample-$temperature.txt" 2>&1
    "$flowmatch" eval "$out/words-samples-$temperature.txt" --target "$out/words-train.txt" --held-out "$out/words-heldout.txt" > "$out/words-eval-$temperature.txt" 2>&1
  done
  python3 "$here/bigram.py" "$out/words-train.txt" "$out/words-heldout.txt" > "$out/bigram.json"
  # bigram KEY [TEMPERATURE]: a number of bigram.json (at that sampling temperature)
  bigram() { python3 -c "import json; r = json.load(open('$out/bigram.json')); print(r['temperature']['$2']['$1'] if '$2' else r['$1'])"; }
  {
    echo "## words: wamerican, $(wc -l < "$out/words-train.txt") training and $(wc -l < "$out/words-heldout.txt") held-out words ($(date -u +%F))"
    echo
    echo "| model | held-out bits per character | sampling | samples distinct | in training words | in held-out words | of 3+ characters | train s | sample s |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    for temperature in 1 0.7; do
      samples=$out/words-samples-$temperature.txt
      long=$(python3 -c "import sys; held = set(open(sys.argv[1], encoding='utf-8').read().split('\\n')); s = open(sys.argv[2], encoding='utf-8').read().split('\\n')[:-1]; print(sum(w in held and len(w) >= 3 for w in s) / len(s))" "$out/words-heldout.txt" "$samples")
      printf '| flowmatch (%s) | %.4f (bound) | 100 steps, T = %s | %.4f | %.4f | %.4f | %.4f | %.0f | %.0f |\n' "$words_args" "$(value bits_per_character "$out/words-bound.txt")" \
        "$temperature" "$(value distinct_share "$out/words-eval-$temperature.txt")" "$(value in_target_share "$out/words-eval-$temperature.txt")" \
        "$(value in_held_out_share "$out/words-eval-$temperature.txt")" "$long" "$(value train_seconds "$out/words-train.log")" \
        "$(value sample_seconds "$out/words-sample-$temperature.txt")"
    done
    for temperature in 1 0.7; do
      printf '| character bigram (add-%s) | %.4f | T = %s | %.4f | %.4f | %.4f | %.4f | | |\n' "$(bigram best_alpha)" "$(bigram best_bits_per_character)" \
        "$temperature" "$(bigram distinct_share "$temperature")" "$(bigram in_train_share "$temperature")" \
        "$(bigram in_held_out_share "$temperature")" "$(bigram in_held_out_share_3plus "$temperature")"
    done
    echo
    echo "flowmatch's samples at T = 1: $(head -24 "$out/words-samples-1.txt" | paste -sd ' ')"
    echo
    echo "at T = 0.7: $(head -24 "$out/words-samples-0.7.txt" | paste -sd ' ')"
    echo
  } >> "$results"
fi
cat "$results"
