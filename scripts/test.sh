#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, checks formatting, builds with
# warnings as errors and AddressSanitizer + UBSan, and runs every test label under them.
# Then the static checks (clang-tidy, cppcheck) and the threaded tests under ThreadSanitizer.
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

# clang-tidy and cppcheck with the agreed set (docs/STATIC-ANALYSIS.md); any finding fails the run.
echo "== static checks (clang-tidy, cppcheck)"
bash scripts/static-check.sh build/static

# The code that runs on more than one thread, under ThreadSanitizer: the adapters the daemon calls
# from its worker threads (SQL port, process runner, SSH shell, inotify watcher), the D-Bus objects
# served from a loop thread, and the supervisor's view/abort contract. Only these targets are built.
echo "== ThreadSanitizer: the threaded tests"
tsan_tests=(test_mariadb_sql_port test_process_runner test_ssh_remote_shell test_inotify_watcher
            test_supervisor_threads test_dbus_objects)
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMHAFB_TSAN=ON >/dev/null
cmake --build build/tsan --target "${tsan_tests[@]}"
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
for t in "${tsan_tests[@]}"; do
  bin=$(find build/tsan/tests -maxdepth 2 -type f -name "$t" | head -n 1)
  echo "-- $t (TSan)"
  "$bin" --gtest_brief=1
done
