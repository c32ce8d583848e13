#!/usr/bin/env python3
"""Profile: where mha-failbackd's idle ticks spend instructions (valgrind callgrind).

The lab's two servers run (no MHA tool); mha-failbackd supervises N healthy MHA apps pointing at
them (as bench_scale), under `valgrind --tool=callgrind`. After a warm-up the counters are zeroed
(callgrind_control -z), the daemon runs for --seconds, the profile is dumped (callgrind_control -d)
and the daemon stopped. The probes made in the window are counted from the servers' general log, so
the report gives instructions per tick (a tick probes both servers of one cluster). Prints the top
functions, inclusive and exclusive (callgrind_annotate), and saves them with the raw profile.

Instruction counts are stable on a loaded machine; wall times under valgrind are not meaningful.

Run: MHAFB_LAB_IPS=127.0.0.81,127.0.0.82 MHAFB_BUILD_DIR=build-bench \
     /usr/bin/python3 tests/bench/profile_ticks.py [--clusters 20] [--seconds 20]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (ACCOUNTS, BenchDaemon, BenchStack, common_args, general_log_on, header,  # noqa: E402
                          make_apps, multi_cluster_config, results_dir, save_json)
from bench_scale import FACTS, general_log  # noqa: E402


class ValgrindDaemon(BenchDaemon):
    def __init__(self, *args, out_file: Path, **kw):
        super().__init__(*args, **kw)
        self.out_file = out_file

    def argv(self) -> list[str]:
        return ["/usr/bin/valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out_file}",
                "--dump-instr=no", "--collect-systime=no", *super().argv()]


def annotate(path: Path, inclusive: bool) -> str:
    argv = ["/usr/bin/callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=99",
            str(path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300).stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clusters", type=int, default=20)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=15.0)
    p.add_argument("--probe-ms", type=int, default=1000)
    common_args(p)
    a = p.parse_args()
    out = results_dir(a.out)
    m = header("profile_ticks")
    stack = BenchStack("profile", a.verbose)
    prof = out / f"callgrind.ticks-{a.clusters}.out"
    try:
        stack.lab_up(check_mha=False)
        lab = stack.lab
        names = [f"p{i:03d}" for i in range(a.clusters)]
        confs = make_apps(lab, stack.work / "apps", names)
        cfg = multi_cluster_config(lab, stack.work / "profile.json", confs, "approve", a.probe_ms,
                                   stack.work / "state", stable_seconds=30)
        general_log_on(lab, True, max_connections=1000)  # one connection per cluster and server
        stack.start_bus()
        d = ValgrindDaemon(stack.work, cfg, stack.bus.address, "valgrind", out_file=prof)
        stack.daemons.append(d)
        d.start(ready_timeout=300)
        time.sleep(a.warmup)
        subprocess.run(["/usr/bin/callgrind_control", "-z", str(d.pid)], capture_output=True, timeout=60)
        w0 = time.time()
        time.sleep(a.seconds)
        subprocess.run(["/usr/bin/callgrind_control", "-d", str(d.pid)], capture_output=True, timeout=120)
        w1 = time.time()
        general_log_on(lab, False)
        user = getattr(lab, "accounts", ACCOUNTS)["admin"]
        ticks = sum(1 for _, _, arg in general_log(lab, "db1", w0, w1, user) if arg.startswith(FACTS))
        d.stop(timeout=300)
    finally:
        stack.stop(a.keep)
    dumps = sorted(prof.parent.glob(prof.name + "*"), key=lambda x: x.stat().st_mtime)
    # callgrind_control -d writes <file>.<n>; the final dump at exit holds only the shutdown
    dump = next((x for x in dumps if re.search(r"\.\d+$", x.name)), None) or prof
    incl, excl = annotate(dump, True), annotate(dump, False)
    total = 0
    mt = re.search(r"^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", excl, re.M)
    if mt:
        total = int(mt.group(1).replace(",", ""))
    per_tick = total / ticks if ticks else None
    print(f"## callgrind, {a.clusters} clusters, {a.seconds:.0f} s window: {total:,} instructions, "
          f"{ticks} ticks -> {per_tick and round(per_tick):,} instructions per tick", flush=True)
    print("\n".join(incl.splitlines()[:60]))
    print("\n".join(excl.splitlines()[:45]))
    keep = out / f"callgrind.ticks-{a.clusters}.final"
    shutil.copy(dump, keep)
    save_json(out, f"profile_ticks-{a.clusters}", {"machine": m, "args": vars(a), "instructions": total,
                                                    "ticks": ticks, "instructions_per_tick": per_tick,
                                                    "profile": str(keep), "inclusive": incl.splitlines()[:80],
                                                    "exclusive": excl.splitlines()[:60]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
