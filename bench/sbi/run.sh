#!/usr/bin/env bash
# The simulation-based-inference benchmark (docs/sbi.md): for each task and simulation budget,
# train flowmatch's defaults on (theta, x) pairs, draw 10 000 posterior samples for each of 10
# observations, and score them with C2ST against the task's exact posterior.
#
#   bench/sbi/run.sh [--flowmatch build/flowmatch] [--out DIR] [--tasks "two-moons slcp"]
#                    [--budgets "1000 10000 100000"] [--observations 10]
#
# Besides C2ST, each model scores 1000 further exact posterior samples per observation with its exact
# log-likelihood: cross_entropy = -E log q(theta | x_o), averaged over the observations. It is
# H(p) + KL(p || q), so two models of one task differ in it by their difference in KL; scored on the
# same samples, that difference is precise (the entropy's sampling noise, about 0.02, is shared).
#
# Writes DIR/results.tsv (one line per task and budget) and DIR/table.md, and keeps every run folder.
set -euo pipefail

flowmatch=build/flowmatch
out=bench/sbi/results
tasks="gaussian-linear two-moons gaussian-mixture slcp"
budgets="1000 10000 100000"
observations=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --flowmatch) flowmatch=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --budgets) budgets=$2; shift 2 ;;
    --observations) observations=$2; shift 2 ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -x $flowmatch ]] || { echo "no flowmatch binary at $flowmatch: build first, or pass --flowmatch" >&2; exit 2; }
mkdir -p "$out"
results=$out/results.tsv
[[ -f $results ]] || printf 'task\tsimulations\tc2st_mean\tc2st_per_observation\ttrain_seconds\tsteps\tbest_step\tsample_seconds\tcross_entropy\n' > "$results"

# value KEY FILE: the value of "KEY: value" in a report.
value() { sed -n "s/^$1: //p" "$2" | head -1; }

for task in $tasks; do
  dir=$out/$task
  mkdir -p "$dir"
  # Observations from theta drawn from the prior with a fixed seed, and their exact posteriors.
  if [[ ! -f $dir/reference.npy ]]; then
    "$flowmatch" simulate "$task" --n "$observations" --theta "$dir/theta_o.npy" --x "$dir/observations.npy" --seed 1 > /dev/null
    "$flowmatch" simulate "$task" --posterior --observation "$dir/observations.npy" --n 10000 --out "$dir/reference.npy" --seed 2 > /dev/null
  fi
  [[ -f $dir/scored.npy ]] ||
    "$flowmatch" simulate "$task" --posterior --observation "$dir/observations.npy" --n 1000 --out "$dir/scored.npy" --seed 4 > /dev/null
  for n in $budgets; do
    run=$dir/n$n
    rm -rf "$run" && mkdir -p "$run"
    "$flowmatch" simulate "$task" --n "$n" --theta "$run/theta.npy" --x "$run/x.npy" --seed $((100 + n)) > /dev/null
    "$flowmatch" train --data "$run/theta.npy" --context "$run/x.npy" --out "$run/model" --seed 0 > "$run/train.txt" 2> "$run/train.log"
    "$flowmatch" sample "$run/model" --context "$dir/observations.npy" --n 10000 --out "$run/posterior.npy" --seed 3 \
      > "$run/sample.txt" 2> "$run/sample.log"
    "$flowmatch" eval "$run/posterior.npy" --target "$dir/reference.npy" --c2st --groups "$observations" > "$run/c2st.txt"
    "$flowmatch" likelihood "$run/model" --data "$dir/scored.npy" --context "$dir/observations.npy" --grouped \
      > "$run/likelihood.txt" 2> "$run/likelihood.log"
    cross_entropy=$(value nll_nats "$run/likelihood.txt")
    c2st=$(value c2st "$run/c2st.txt")
    mean=$(sed -n 's/.*"mean":\([0-9.]*\).*/\1/p' <<< "$c2st")
    per=$(sed -n 's/.*"per_group":\[\([^]]*\)\].*/\1/p' <<< "$c2st")
    [[ -n $mean ]] || mean=$c2st  # one observation: a single number
    printf '%s\t%s\t%.3f\t%s\t%.0f\t%s\t%s\t%.0f\t%.4f\n' "$task" "$n" "$mean" "$per" "$(value train_seconds "$run/train.txt")" \
      "$(value steps "$run/train.txt")" "$(value best_step "$run/train.txt")" "$(value sample_seconds "$run/sample.txt")" \
      "$cross_entropy" >> "$results"
    echo "$task, $n simulations: C2ST $mean" >&2
  done
done

# The table: mean C2ST (train seconds) per task and budget, beside sbibm's published NPE.
awk -F'\t' '
  BEGIN { npe["gaussian-linear"] = "0.694 / 0.552 / 0.506"; npe["two-moons"] = "0.725 / 0.606 / 0.542";
          npe["gaussian-mixture"] = "0.716 / 0.615 / 0.548"; npe["slcp"] = "0.975 / 0.901 / 0.831" }
  NR > 1 { c[$1 "," $2] = sprintf("%s (%ss)", $3, $5); if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
  END {
    print "| task | flowmatch 10^3 | 10^4 | 10^5 | NPE (sbibm) 10^3 / 10^4 / 10^5 |"
    print "| --- | --- | --- | --- | --- |"
    for (i = 1; i <= k; ++i) { t = order[i]
      printf "| %s | %s | %s | %s | %s |\n", t, (t ",1000" in c) ? c[t ",1000"] : "-", (t ",10000" in c) ? c[t ",10000"] : "-",
             (t ",100000" in c) ? c[t ",100000"] : "-", npe[t] }
  }' "$results" | tee "$out/table.md"
