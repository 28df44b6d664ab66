#!/usr/bin/env bash
# Runs a fixed set of flowmatch jobs with fixed seeds and writes what they make into FOLDER:
#   scripts/same-outputs.sh BINARY FOLDER
# Run it with the binaries from before and after a change meant to keep behaviour, then compare the
# two folders with scripts/compare-outputs.py. It covers train + sample (mlp, seed-mlp, with rk4,
# dopri5, --logp and --trajectory), MeanFlow from a source with the ot coupling, reflow, distill, a
# 20-step Fashion-MNIST unet with guided sampling, and a likelihood run with its density picture;
# metrics.jsonl is kept without its timing fields. About 5 minutes on two cores.
set -euo pipefail
if [[ $# -ne 2 ]]; then echo "usage: scripts/same-outputs.sh BINARY FOLDER" >&2; exit 2; fi
fm=$(realpath "$1")
out=$2
if [[ -e "$out" ]]; then echo "same-outputs: $out exists; give a new folder" >&2; exit 1; fi
mkdir -p "$out"
cd "$out"
run() {
  echo "+ flowmatch $*" >&2
  "$fm" "$@" >/dev/null 2>>"$PWD/log.txt" || { echo "same-outputs: failed; see $PWD/log.txt" >&2; exit 1; }
}
run train --data checkerboard --steps 300 --checkpoint-every 100 --out mlp --seed 3 --threads 1
run sample mlp --n 500 --out mlp-rk4.npy --png mlp-rk4.png --seed 4 --threads 1
run sample mlp --n 200 --solver dopri5 --out mlp-dopri.npy --logp mlp-dopri.logp.npy --trajectory mlp-traj.npy \
    --seed 5 --threads 1
run train --data checkerboard --data-n 1000 --model seed-mlp --batch 64 --steps 200 --lr 1e-4 --out seed --seed 3 --threads 1
run sample seed --n 500 --solver euler --steps 50 --out seed.npy --seed 4 --threads 1
run train --data 8gaussians --source moons --objective meanflow --coupling ot --steps 300 --out mf --seed 3 --threads 1
run sample mf --n 500 --out mf.npy --seed 4 --threads 1
run reflow mlp --out rf --pairs 500 --steps 200 --seed 6 --threads 1
run distill rf --steps-out 1 --out ds --pairs 500 --steps 200 --seed 7 --threads 1
run sample ds --n 300 --out ds.npy --seed 4 --threads 1
run train --data fashion-mnist --steps 20 --batch 16 --checkpoint-every 10 --out fm --seed 3 --threads 2
run sample fm --n 20 --solver euler --steps 4 --cfg 2 --out fm.npy --png fm.png --seed 4 --threads 2
run likelihood mlp --data checkerboard --n 300 --out logp.npy --png density.png --grid 20 --seed 8 --threads 1
for metrics in */metrics.jsonl; do
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    entry = json.loads(line)
    for timing in ("it_per_s", "elapsed_s"): entry.pop(timing, None)
    print(json.dumps(entry, sort_keys=True))' "$metrics" >"$metrics.stable"
  rm "$metrics"
done
rm log.txt
echo "same-outputs: $(find . -type f | wc -l) files in $out"
