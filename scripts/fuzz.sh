#!/usr/bin/env bash
# Fuzzes each file reader with libFuzzer (clang, AddressSanitizer, UndefinedBehaviorSanitizer) for
# SECONDS each (default 60), starting from the seed corpus in fuzz/corpus/READER/. Inputs that
# reach new code are kept in build-fuzz/corpus/READER/; a crash, a leak, an allocation over 512 MB
# or an exception other than flowmatch::Error is saved to build-fuzz/crashes/READER/ and stops that
# reader's run. Turn each one into a regression test.
#   scripts/fuzz.sh [SECONDS] [READER...]      READER: safetensors pickle npy csv idx image (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
readers=("$@")
[[ ${#readers[@]} -eq 0 ]] && readers=(safetensors pickle npy csv idx image)
command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt-get install clang)" >&2; exit 1; }
cmake -S . -B build-fuzz -DFLOWMATCH_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${readers[@]/%/_fuzzer}"
status=0
for reader in "${readers[@]}"; do
  mkdir -p "build-fuzz/corpus/$reader" "build-fuzz/crashes/$reader"
  echo "fuzz: $reader for $seconds s"
  if ! "build-fuzz/${reader}_fuzzer" "build-fuzz/corpus/$reader" "fuzz/corpus/$reader" -max_total_time="$seconds" \
      -rss_limit_mb=2048 -malloc_limit_mb=512 -artifact_prefix="build-fuzz/crashes/$reader/" -print_final_stats=1 \
      >"build-fuzz/$reader.log" 2>&1; then
    echo "fuzz: $reader FAILED; see build-fuzz/$reader.log and build-fuzz/crashes/$reader/" >&2
    status=1
  fi
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done)" "build-fuzz/$reader.log" || true
done
exit $status
