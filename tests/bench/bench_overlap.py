#!/usr/bin/env python3
"""Can MHA's tools overlap? The experiment behind the failback-time plan in RESULTS.md.

On a healthy lab (db1 master, db2 replica, no manager running), each pair is run one after the
other and then at the same time, --rounds times:

- `masterha_check_ssh` and `masterha_check_repl` (the daemon's validate step runs them in turn);
- starting `masterha_manager` (until its health file says PING_OK) and `masterha_check_repl` (the
  daemon's restore step runs them in turn).

Reported: each tool's verdict (judged by its text, as the lab does) and wall times, sequential vs
overlapped. Overlapping is only worth planning if every verdict stays OK.

Run: MHAFB_LAB_IPS=127.0.0.81,127.0.0.82 MHAFB_BUILD_DIR=build-bench \
     /usr/bin/python3 tests/bench/bench_overlap.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import BenchStack, LoadWatch, common_args, header, median, print_table, results_dir, save_json  # noqa: E402


def timed(fn):
    t = time.monotonic()
    ok = fn()
    return ok, time.monotonic() - t


def both(fa, fb):
    res = {}
    th = threading.Thread(target=lambda: res.__setitem__("a", timed(fa)))
    t = time.monotonic()
    th.start()
    res["b"] = timed(fb)
    th.join()
    return res["a"], res["b"], time.monotonic() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=2)
    common_args(p)
    a = p.parse_args()
    out = results_dir(a.out)
    m = header("bench_overlap")
    load = LoadWatch()
    stack = BenchStack("overlap", a.verbose)
    rows = []
    try:
        stack.lab_up()
        lab = stack.lab
        ssh = lambda: lab.check_ssh()[0]  # noqa: E731
        repl = lambda: lab.check_repl()[0]  # noqa: E731

        def manager():
            try:
                lab.manager_start()
                return True
            except Exception:  # noqa: BLE001 - a failed start is the verdict
                return False

        for i in range(a.rounds):
            (s_ok, s_t), (r_ok, r_t) = timed(ssh), timed(repl)
            rows.append(["check_ssh then check_repl", i + 1, s_ok and r_ok, s_t + r_t, f"{s_t:.2f} + {r_t:.2f}"])
            (s_ok, s_t), (r_ok, r_t), tot = both(ssh, repl)
            rows.append(["check_ssh || check_repl", i + 1, s_ok and r_ok, tot, f"{s_t:.2f} | {r_t:.2f}"])
            (g_ok, g_t), (r_ok, r_t) = timed(manager), timed(repl)
            rows.append(["manager start then check_repl", i + 1, g_ok and r_ok, g_t + r_t, f"{g_t:.2f} + {r_t:.2f}"])
            lab.manager_stop()
            (g_ok, g_t), (r_ok, r_t), tot = both(manager, repl)
            h = lab.health() or {}
            rows.append(["manager start || check_repl", i + 1, g_ok and r_ok and h.get("code") == 0, tot,
                         f"{g_t:.2f} | {r_t:.2f}, then health {h.get('name')}"])
            lab.manager_stop()
    finally:
        stack.stop(a.keep)
    ld = load.stop()
    table = print_table("MHA tools one after the other vs overlapped (s)", ["pair", "round", "all OK", "wall s", "each s"],
                        [[r[0], r[1], "yes" if r[2] else "NO", r[3], r[4]] for r in rows])
    summ = print_table("medians (s)", ["pair", "wall s"],
                       [[k, median([r[3] for r in rows if r[0] == k])] for k in dict.fromkeys(r[0] for r in rows)])
    print(f"# load average (1 min) {ld['load1_min']}/{ld['load1_median']}/{ld['load1_max']}", flush=True)
    save_json(out, "bench_overlap", {"machine": m, "load": ld, "rows": rows, "tables": [table, summ]})
    return 0 if all(r[2] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
