#!/usr/bin/env python3
"""Benchmark 3: detection latency, failover flag appearing -> state `degraded` (and its D-Bus signal).

No MHA tool runs. The lab's two servers run (db1 master, db2 its replica); a set of extra MHA app
configs (copies of the lab's, each with its own manager_workdir and a manager log holding a real
captured "failover db1 -> db2 completed" report) are supervised by one mha-failbackd in observe
mode, probing every second. For each sample the benchmark waits a random 0-1 s (so samples fall
anywhere in the probe cycle), creates `<workdir>/<app>.failover.complete` and measures:

- state: the daemon's own time of the transition (`state_since` in the persisted state file,
  milliseconds, wall clock) minus the wall time just before the flag was created;
- signal: the StateChanged(healthy -> degraded) signal's receive time at a D-Bus client
  (dbus-monitor's time= stamp) minus the same start;
- record: the arrival of the transition's audit record on the daemon's stderr pipe.

Each cluster's second server is 127.0.0.83 (DEAD_IP), where nothing listens: its preferred
master, which the manager log says MHA failed over to db1. A flag makes the cluster `degraded` and
it stays there, waiting for its old master (observe mode: it only says what it would do next),
so the state file keeps the transition's time. Each cluster is used once per daemon run, then the daemon is restarted on a fresh state
directory: --clusters per run (default 10) x runs = --samples (default 100).

Run: MHAFB_LAB_IPS=127.0.0.81,127.0.0.82 MHAFB_BUILD_DIR=build-bench \
     /usr/bin/python3 tests/bench/bench_detection.py [--samples 100] [--clusters 10]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (HOSTS, BenchStack, LoadWatch, common_args, header, make_apps, median,  # noqa: E402
                          multi_cluster_config, percentile, print_table, read_state, results_dir, save_json)

DEAD_IP = os.environ.get("MHAFB_BENCH_DEAD_IP", "127.0.0.83")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--clusters", type=int, default=10, help="clusters per daemon run (default 10)")
    p.add_argument("--probe-ms", type=int, default=1000)
    common_args(p)
    a = p.parse_args()
    out = results_dir(a.out)
    m = header("bench_detection")
    load = LoadWatch()
    stack = BenchStack("detect", a.verbose)
    samples: list[dict] = []
    rng = random.Random(6)
    try:
        t = stack.lab_up(check_mha=False)
        print(f"# lab up (no MHA checks) in {t:.1f} s", flush=True)
        names = [f"det{i:02d}" for i in range(a.clusters)]
        confs = make_apps(stack.lab, stack.work / "apps", names, failover=(DEAD_IP, HOSTS[0].ip),
                          second_server=DEAD_IP)
        stack.start_bus(monitor=True)
        run = 0
        while len(samples) < a.samples:
            run += 1
            state_dir = stack.work / f"state-{run}"
            shutil.rmtree(state_dir, ignore_errors=True)
            for c in confs:
                (c.parent / "work" / f"{c.stem}.failover.complete").unlink(missing_ok=True)
            cfg = multi_cluster_config(stack.lab, stack.work / f"detect-{run}.json", confs, "observe", a.probe_ms,
                                       state_dir, preferred=DEAD_IP)
            d = stack.start_daemon(cfg)
            time.sleep(1.5)  # every cluster past its first ticks
            for c in confs:
                if len(samples) >= a.samples:
                    break
                name = c.stem
                time.sleep(rng.random())
                flag = c.parent / "work" / f"{name}.failover.complete"
                mark_sig, mark_line = stack.monitor.mark(), d.mark()
                t0 = time.time()
                os.close(os.open(flag, os.O_WRONLY | os.O_CREAT, 0o644))
                sig = stack.monitor.wait(lambda s, n=name: s["path"].endswith("/" + n) and s["to"] == "degraded",
                                         10, since=mark_sig)
                rec = d.wait_state("degraded", 10, since=mark_line, cluster=name)
                samples.append({"run": run, "cluster": name, "t0": t0,
                                "signal_ms": round((sig["time"] - t0) * 1000, 3) if sig else None,
                                "record_ms": round((rec["epoch"] - t0) * 1000, 3)
                                if rec and rec.get("STATE") == "degraded" else None})
            time.sleep(0.5)
            for s in samples:
                if s["run"] == run:
                    st = read_state(state_dir, s["cluster"])
                    s["state_after"] = st.get("state")
                    s["state_ms"] = (round(st["state_since"] - s["t0"] * 1000, 3)
                                     if st.get("state") == "degraded" else None)
            d.stop()
            print(f"# run {run}: {len(samples)} samples so far", flush=True)
    finally:
        stack.stop(a.keep)
    ld = load.stop()
    rows = []
    res = {}
    for key, label in (("state_ms", "flag -> degraded (daemon's state time)"),
                       ("signal_ms", "flag -> D-Bus StateChanged received"),
                       ("record_ms", "flag -> audit record on stderr")):
        v = [s[key] for s in samples if s.get(key) is not None]
        res[key] = {"n": len(v), "p50": percentile(v, 50), "p90": percentile(v, 90), "p99": percentile(v, 99),
                    "max": max(v) if v else None, "min": min(v) if v else None, "median": median(v)}
        rows.append([label, len(v), res[key]["min"], res[key]["p50"], res[key]["p90"], res[key]["p99"], res[key]["max"]])
    missing = sum(1 for s in samples if s["signal_ms"] is None)
    table = print_table(f"detection latency (ms), {len(samples)} samples, probe interval {a.probe_ms} ms, "
                        f"{a.clusters} clusters per daemon; target p99 < 10 ms",
                        ["measure", "n", "min", "p50", "p90", "p99", "max"], rows)
    print(f"# samples without a D-Bus signal within 10 s: {missing}; load average (1 min) "
          f"{ld['load1_min']}/{ld['load1_median']}/{ld['load1_max']}", flush=True)
    save_json(out, "bench_detection", {"machine": m, "load": ld, "args": vars(a), "results": res,
                                       "missing_signals": missing, "samples": samples, "tables": [table]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
