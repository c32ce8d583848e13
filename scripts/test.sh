#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, checks formatting, builds with
# warnings as errors and AddressSanitizer + UBSan, and runs every test label under them.
# Exit status: 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E bash "$0" "$@"
fi

bash scripts/setup.sh

echo "== clang-format check"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find lib daemon tests -name '*.[ch]pp')
if ! clang-format --dry-run --Werror "${sources[@]}"; then
  echo "clang-format: the files above are not formatted (run: clang-format -i <file>)" >&2
  exit 1
fi

# One build serves every check: warnings are errors, and everything — unit, adapter, daemon and the
# integration tests on the real lab — runs under AddressSanitizer + UndefinedBehaviorSanitizer.
echo "== build with ASan+UBSan (warnings are errors)"
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMHAFB_SANITIZE=ON >/dev/null
cmake --build build/test

echo "== tests (unit, adapter, daemon, integration) under ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build/test --output-on-failure -j 2 --timeout 1500 -LE fuzz
