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

# The static checks and the ThreadSanitizer build need no lab: they run niced in the background
# while the tests (mostly waiting on MHA's tools and the lab's servers) run in the foreground.
mkdir -p build/logs
tsan_tests=(test_mariadb_sql_port test_process_runner test_ssh_remote_shell test_inotify_watcher
            test_supervisor_threads test_dbus_objects)
echo "== static checks (clang-tidy, cppcheck) and the ThreadSanitizer build start in the background"
# clang-tidy and cppcheck with the agreed set (docs/STATIC-ANALYSIS.md); any finding fails the run.
nice -n 10 bash scripts/static-check.sh build/static >build/logs/static-check.log 2>&1 &
static_pid=$!
# The code that runs on more than one thread, under ThreadSanitizer: the adapters the daemon calls
# from its worker threads (SQL port, process runner, SSH shell, inotify watcher), the D-Bus objects
# served from a loop thread, and the supervisor's view/abort contract. Only these targets are built.
(cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMHAFB_TSAN=ON >/dev/null &&
  nice -n 10 cmake --build build/tsan -j 1 --target "${tsan_tests[@]}") >build/logs/tsan-build.log 2>&1 &
tsan_build_pid=$!

echo "== tests (unit, adapter, daemon, integration) under ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
# Three at a time: the integration tests hold one of two lab slots each, the third runs the rest.
ctest --test-dir build/test --output-on-failure -j 3 --timeout 1500 -LE fuzz || failed+=("tests under ASan+UBSan")

echo "== static checks (clang-tidy, cppcheck)"
if wait "$static_pid"; then
  tail -n 3 build/logs/static-check.log
else
  cat build/logs/static-check.log
  failed+=("static checks")
fi

echo "== ThreadSanitizer: the threaded tests"
if wait "$tsan_build_pid"; then
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  for t in "${tsan_tests[@]}"; do
    bin=$(find build/tsan/tests -maxdepth 2 -type f -name "$t" | head -n 1)
    echo "-- $t (TSan)"
    "$bin" --gtest_brief=1 || failed+=("$t under TSan")
  done
else
  cat build/logs/tsan-build.log
  failed+=("ThreadSanitizer build")
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "== all passed"
