#!/usr/bin/env bash
# Static analysis: clang-tidy (the set in .clang-tidy) and cppcheck over every translation unit of
# the project's own code, two files at a time. Exit status is non-zero on any finding of either tool;
# docs/STATIC-ANALYSIS.md explains the check set and how to silence a false positive.
#
# Usage: scripts/static-check.sh [build-dir]   (default build/static; configured here when missing)
# Environment: MHAFB_STATIC_JOBS (default 2), MHAFB_STATIC_ONLY=tidy|cppcheck to run one tool,
# MHAFB_STATIC_DEEP=1 for the Clang Static Analyzer's deep mode (about 5x its CPU time).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build/static}
jobs=${MHAFB_STATIC_JOBS:-2}
only=${MHAFB_STATIC_ONLY:-}
# The analyzer's shallow mode (its documented fast profile: less inlining, fewer paths per function).
analyzer_mode=shallow
[ "${MHAFB_STATIC_DEEP:-0}" = 1 ] && analyzer_mode=deep

# A plain Debug configuration gives the compile commands; the generated D-Bus adaptor header is the
# only thing that must be built before the analyzers can parse the daemon's sources.
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null || exit 2
fi
cmake --build "$build" --target mhafbd_generated >/dev/null || exit 2

# One entry per source file of our own (the daemon tests compile ctl_args.cpp again; build dirs and
# anything outside lib/, daemon/, tests/ are not ours).
out="$build/static-check"
mkdir -p "$out"
python3 - "$root" "$build/compile_commands.json" "$out/compile_commands.json" <<'EOF' || exit 2
import json, os, re, sys
root, src, dst = sys.argv[1:]
own = re.compile(re.escape(root) + r"/(lib|daemon|tests)/")
seen, keep = set(), []
for entry in json.load(open(src)):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    if own.match(path) and path not in seen:
        seen.add(path)
        keep.append(entry)
json.dump(keep, open(dst, "w"), indent=1)
print(f"static-check: {len(keep)} translation units")
EOF

status=0
start=$SECONDS

if [ "$only" != cppcheck ]; then
  echo "== clang-tidy ($(clang-tidy --version | sed -n 's/.*LLVM version \([0-9.]*\).*/\1/p'), $jobs jobs)"
  t0=$SECONDS
  # One clang-tidy per file, biggest files first so the two workers finish together; each file's
  # output goes to its own log, concatenated afterwards.
  rm -rf "$out/tidy" && mkdir -p "$out/tidy"
  python3 -c 'import json, os, sys
files = {e["file"] for e in json.load(open(sys.argv[1]))}
for f in sorted(files, key=lambda f: -os.path.getsize(f)): print(f)' "$out/compile_commands.json" |
    MHAFB_TIDY_OUT="$out/tidy" MHAFB_TIDY_FILTER="^${root}/(lib|daemon|tests)/.*\\.hpp$" \
      MHAFB_TIDY_MODE="$analyzer_mode" MHAFB_TIDY_DB="$out" xargs -P "$jobs" -I{} sh -c '
      log="$MHAFB_TIDY_OUT/$(echo "$1" | tr / _)"
      clang-tidy -p "$MHAFB_TIDY_DB" --quiet \
        --header-filter="$MHAFB_TIDY_FILTER" --extra-arg=-Xclang --extra-arg=-analyzer-config \
        --extra-arg=-Xclang --extra-arg=mode="$MHAFB_TIDY_MODE" "$1" >"$log.log" 2>&1 ||
        echo "clang-tidy exit $? on $1" >>"$log.log"' sh {}
  cat "$out"/tidy/*.log >"$out/clang-tidy.log"
  tidy_rc=0
  grep -q '^clang-tidy exit' "$out/clang-tidy.log" && tidy_rc=1
  # Findings are "file:line:col: warning|error: ... [check]" lines in our own files.
  grep -E "^${root}/.*:[0-9]+:[0-9]+: (warning|error):" "$out/clang-tidy.log" | sort -u >"$out/clang-tidy.findings"
  n=$(wc -l <"$out/clang-tidy.findings")
  if [ "$n" -gt 0 ] || [ "$tidy_rc" -ne 0 ]; then
    sed "s|^${root}/||" "$out/clang-tidy.findings"
    echo "clang-tidy: $n finding(s), exit $tidy_rc (full log: $out/clang-tidy.log)" >&2
    status=1
  else
    echo "clang-tidy: no findings ($((SECONDS - t0)) s)"
  fi
fi

if [ "$only" != tidy ]; then
  echo "== cppcheck ($(cppcheck --version | cut -d' ' -f2), $jobs jobs)"
  t0=$SECONDS
  # --library: teach cppcheck the APIs we call (googletest's macros, POSIX, Boost).
  cppcheck --project="$out/compile_commands.json" -j "$jobs" --quiet \
    --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
    --std=c++20 --language=c++ --library=posix --library=googletest --library=boost \
    --suppress=missingIncludeSystem --suppress=unmatchedSuppression \
    -i "$root/build" -i "$root/build-" \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
    2>"$out/cppcheck.log" >/dev/null
  cpp_rc=$?
  # cppcheck 2.10 gives up with an internal error ("MathLib::toLongNumber: input was not completely
  # consumed: 1s") on two files that assign chrono literals to members; a defect of the tool, not a
  # finding. It is reported with a relative path that a file-specific --suppress did not match in
  # our runs, so exactly those two lines are dropped here.
  grep -E '^[^ ]+:[0-9]+:[0-9]+: ' "$out/cppcheck.log" | sort -u |
    grep -vE "^(${root}/)?tests/adapters/test_(mariadb_sql_port|process_runner)\.cpp:0:0: error: Internal Error\. MathLib::toLongNumber: .*\[cppcheckError\]$" \
      >"$out/cppcheck.findings"
  n=$(wc -l <"$out/cppcheck.findings")
  # Exit 1 is cppcheck's "something was reported" (--error-exitcode); anything else is a failure.
  if [ "$n" -gt 0 ] || { [ "$cpp_rc" -ne 0 ] && [ "$cpp_rc" -ne 1 ]; }; then
    sed "s|^${root}/||" "$out/cppcheck.findings"
    echo "cppcheck: $n finding(s), exit $cpp_rc (full log: $out/cppcheck.log)" >&2
    status=1
  else
    echo "cppcheck: no findings ($((SECONDS - t0)) s)"
  fi
fi

echo "static-check: $((SECONDS - start)) s, $([ $status -eq 0 ] && echo clean || echo FINDINGS)"
exit $status
