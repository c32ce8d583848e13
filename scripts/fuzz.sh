#!/usr/bin/env bash
# Fuzzes every parser of outside input: builds the libFuzzer targets with clang (ASan + UBSan +
# LeakSanitizer) into build/fuzz and runs each one for SECONDS (default 300) through CTest (label
# `fuzz`). A crash, hang (one input > 10 s), leak, memory blow-up (> 2 GB) or broken property fails
# the run; the input that did it is saved in build/fuzz/tests/fuzz/artifacts/.
# The corpus grows across runs in build/fuzz/tests/fuzz/corpus/<target>/ (seeds stay in the tree).
#
#   scripts/fuzz.sh            # 300 s per target: the long run
#   scripts/fuzz.sh 20         # 20 s per target: the CI-sized run
#   scripts/fuzz.sh 60 gtid    # only the targets whose name matches (a ctest -R regex)
#
# Exit status: 0 only when every target ran its time without a finding. See tests/fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-300}"
filter="${2:-}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target] [target-regex]" >&2
  exit 2
fi

# clang and its libFuzzer runtime (libclang-rt-14-dev) come from scripts/setup.sh.
if ! command -v clang++ >/dev/null || ! clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a | grep -q /; then
  bash scripts/setup.sh
fi

echo "== build the fuzz targets (clang, ASan+UBSan) in build/fuzz"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMHAFB_FUZZ=ON -DMHAFB_BUILD_TESTS=OFF -DMHAFB_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build build/fuzz --target fuzz_all

echo "== fuzz every target for ${seconds} s (full output: build/fuzz/fuzz-last.log)"
args=(--test-dir build/fuzz -L fuzz -V)
[ -n "$filter" ] && args+=(-R "$filter")
status=0
ctest "${args[@]}" >build/fuzz/fuzz-last.log 2>&1 || status=$?

# Per target: the verdict, the final coverage line (cov = edges, ft = features, corp = corpus size),
# executions per second; for a failure, what broke and where the input was saved.
awk '
  /^[0-9]+: Test command: / { n = split($4, parts, "/"); name = parts[n] }
  /DONE +cov:/ { sub(/^[0-9]+: /, ""); print "   " name ": " $0 }
  /property broken|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|Test unit written to/ {
    sub(/^[0-9]+: /, ""); print "   " name ": " $0 }
  /Test +#[0-9]+: fuzz\./ { print }
' build/fuzz/fuzz-last.log
grep -E "^[0-9]+% tests passed" build/fuzz/fuzz-last.log || true
exit "$status"
