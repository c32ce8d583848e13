#!/usr/bin/env python3
"""Benchmark 4: idle footprint of mha-failbackd supervising one healthy cluster, probed every second.

The lab's two servers run (db1 master, db2 replica; no MHA tool runs); mha-failbackd supervises the
lab's MHA app in approve mode (the shipped default) with `probe_interval_ms` 1000. After a 5 s
warm-up, /proc/<pid>/stat and /proc/<pid>/task/*/status are sampled every second for 60 s:

- CPU% of one core: (utime + stime) over the window;
- RSS (max and last) and the peak (VmHWM);
- wakeups: voluntary context switches per second, summed over the daemon's threads (each is a
  sleep that ended: a timer, a socket answer, a D-Bus message), and the involuntary ones.

Run: MHAFB_LAB_IPS=127.0.0.81,127.0.0.82 MHAFB_BUILD_DIR=build-bench \
     /usr/bin/python3 tests/bench/bench_idle.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (AncestorEvents, BenchStack, LoadWatch, common_args, daemon_config, footprint, header,  # noqa: E402
                          print_table, results_dir, save_json)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--probe-ms", type=int, default=1000)
    p.add_argument("--strace", type=float, default=0.0,
                   help="afterwards, count the daemon's system calls for this many seconds (strace -f -c)")
    common_args(p)
    a = p.parse_args()
    out = results_dir(a.out)
    m = header("bench_idle")
    load = LoadWatch()
    stack = BenchStack("idle", a.verbose)
    try:
        t = stack.lab_up(check_mha=False)
        print(f"# lab up (no MHA checks) in {t:.1f} s", flush=True)
        cfg = daemon_config(stack.lab, stack.work / "mha-failback.json", "approve", 30, a.probe_ms)
        d = stack.start_daemon(cfg)
        time.sleep(5.0)
        bg = AncestorEvents(stack.lab.failover_flag, a.seconds)
        fp = footprint(d.pid, a.seconds)
        fp["events_per_s_in_flag_ancestors"] = bg.result()
        traced = ""
        if a.strace:
            # After the window (strace slows the traced process): which system calls the wakeups are.
            proc = subprocess.Popen(["/usr/bin/strace", "-f", "-c", "-p", str(d.pid)], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            time.sleep(a.strace)
            proc.send_signal(signal.SIGINT)
            traced = proc.communicate(timeout=30)[0]
            print(traced, flush=True)
        recs = d.records()
        state = [r for r in recs if r.get("AUDIT_KIND") == "transition"]
        rc = d.stop()
    finally:
        stack.stop(a.keep)
    ld = load.stop()
    table = print_table(f"idle footprint, 1 cluster probed every {a.probe_ms} ms, {fp['seconds']} s", ["metric", "value", "target"], [
        ["CPU (% of one core)", fp["cpu_percent"], "< 0.5"],
        ["CPU seconds in the window", fp["cpu_seconds"], ""],
        ["RSS max (MiB)", fp["rss_mib_max"], "< 16"],
        ["RSS peak VmHWM (MiB)", fp["hwm_mib"], ""],
        ["voluntary context switches / s (wakeups)", fp["voluntary_cs_per_s"], ""],
        ["involuntary context switches / s", fp["nonvoluntary_cs_per_s"], ""],
        ["threads", fp["threads"], ""],
        ["inotify events/s in the flag's ancestor directories (others' writes)",
         round(sum(fp["events_per_s_in_flag_ancestors"].values()), 1), ""],
        ["load average (1 min) min/median/max", f"{ld['load1_min']}/{ld['load1_median']}/{ld['load1_max']}", ""],
    ])
    save_json(out, "bench_idle", {"machine": m, "load": ld, "args": vars(a), "footprint": fp,
                                  "transitions_during_run": len(state), "daemon_exit": rc, "tables": [table],
                                  "strace": traced.splitlines()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
