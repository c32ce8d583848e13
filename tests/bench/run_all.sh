#!/bin/sh
# Runs the five benchmarks one after the other (about 13 minutes on an idle 2-core machine) and
# leaves their JSON in $MHAFB_BENCH_OUT (default $MHAFB_BUILD_DIR/bench-results) and their output
# in bench-*.log there. Needs root, a RelWithDebInfo build in $MHAFB_BUILD_DIR and a free loopback
# pair in $MHAFB_LAB_IPS. See tests/bench/README.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${MHAFB_BUILD_DIR:?set MHAFB_BUILD_DIR to a RelWithDebInfo build directory}"
out=${MHAFB_BENCH_OUT:-$MHAFB_BUILD_DIR/bench-results}
mkdir -p "$out"
status=0
for b in bench_idle bench_detection bench_scale bench_write_disruption bench_failback; do
  echo "== $b ($(date -u +%H:%M:%S), load: $(cut -d' ' -f1-3 /proc/loadavg))"
  /usr/bin/python3 "$here/$b.py" --out "$out" >"$out/$b.log" 2>&1 || status=1
  sed -n '/^## /,$p' "$out/$b.log"
done
exit $status
