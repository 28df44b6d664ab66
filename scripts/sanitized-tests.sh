#!/bin/bash
# The whole test suite built with AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer
# included), in build-sanitized/. Any report stops the process that made it and fails its test.
# Arguments go to ctest: `scripts/sanitized-tests.sh -E Demo` leaves out the full demo, which
# trains for about 40 minutes under the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-sanitized -DFLOWMATCH_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-sanitized -j"$(nproc)"
export ASAN_OPTIONS="halt_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ctest --test-dir build-sanitized --output-on-failure "$@"
