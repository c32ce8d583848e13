#!/usr/bin/env bash
# The main job, on this machine: installs what is needed, builds, starts the lab (two MariaDB servers,
# an sshd per host, MHA 0.58 on 127.0.0.11/12), the load client, a private D-Bus and mha-failbackd in
# approve mode; MHA fails over for real, the daemon brings the cluster home, an operator approves the
# switch back with mha-failbackctl, and the story is printed: each state with the time it was
# reached, the decision sentences, the data check. Everything is stopped on exit, by PID.
#
# Usage: scripts/demo.sh            (as root; re-executes itself with sudo otherwise)
# Environment: MHAFB_DEMO_BUILD_DIR (default build/demo), MHAFB_DEMO_SKIP_SETUP=1 to skip setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E bash "$0" "$@"
fi

build=${MHAFB_DEMO_BUILD_DIR:-$repo/build/demo}
start=$(date +%s)
# The driver writes the directory it works in here (lab, bus socket, logs, PID files).
base_file=$(mktemp /tmp/mhafb-demo-base.XXXXXX)
export MHAFB_DEMO_BASE_FILE=$base_file

# The Python driver records every process it starts in <work>/run/*.pid and every lab process in
# <lab>/run/*.pid; this trap is the safety net if it is killed before its own clean-up ran.
cleanup() {
  local status=$?
  local dir
  dir=$(cat "$base_file" 2>/dev/null || true)
  rm -f "$base_file"
  if [ -n "$dir" ] && [ -d "$dir" ]; then
    for pidfile in "$dir"/e2e/run/*.pid; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$dir"; then
        kill "$pid" 2>/dev/null || true
      fi
    done
    if [ -f "$dir/lab/lab.json" ]; then
      /usr/bin/python3 "$repo/tests/lab/lab.py" down --dir "$dir/lab" --remove >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
  fi
  echo "demo: finished in $(($(date +%s) - start)) s, exit status $status"
}
trap cleanup EXIT

echo "== setup: Debian packages"
if [ "${MHAFB_DEMO_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/setup.sh
fi

echo "== build: cmake + ninja into $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMHAFB_BUILD_TESTS=OFF >/dev/null
mkdir -p "$build"
if ! ninja -C "$build" mha-failbackd mha-failbackctl >"$build/demo-build.log" 2>&1; then
  tail -n 40 "$build/demo-build.log"
  echo "demo: the build failed; full log in $build/demo-build.log" >&2
  exit 1
fi
tail -n 1 "$build/demo-build.log"

echo "== demo"
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 tests/integration/e2e_support.py demo --build-dir "$build"
