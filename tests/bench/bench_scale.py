#!/usr/bin/env python3
"""Benchmark 5: one mha-failbackd supervising 1, 50 and 200 clusters, each probed every second.

Every cluster is an MHA app config of its own (a copy of the lab's, own manager_workdir), all
pointing at the lab's two servers, all healthy, mode approve. Per size, after a warm-up:

- CPU% of one core and RSS of the daemon over the window (/proc, as bench_idle);
- probes, read from the servers' general log (log_output=TABLE, timestamps in microseconds; the
  daemon records no probe of its own): every probe of a cluster is four statements on one
  connection per server (server facts, GTID state, SHOW MASTER STATUS, SHOW SLAVE STATUS), db1 then
  db2. Per connection:
  * period: time between consecutive probe starts (the server-facts statement); the daemon
    schedules the next tick one interval after a tick ends, so the period is interval + tick time;
  * late: a probe starting more than 100 ms after it was due (previous start + interval);
    missed: a period longer than two intervals;
  * probe latency: a tick's discovery, first statement on db1 to last statement on db2 (the db2
    connection of a cluster is paired with its db1 connection by which one follows it, by vote).

The servers' max_connections is raised for the run (each cluster holds one connection per server).

Run: MHAFB_LAB_IPS=127.0.0.81,127.0.0.82 MHAFB_BUILD_DIR=build-bench \
     /usr/bin/python3 tests/bench/bench_scale.py [--sizes 1,50,200] [--seconds 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (ACCOUNTS, AncestorEvents, BenchStack, general_log_on, LoadWatch, common_args, footprint, header, make_apps,  # noqa: E402
                          multi_cluster_config, percentile, print_table, results_dir, save_json)

FACTS = "SELECT @@GLOBAL.version AS version"
LAST = "SHOW SLAVE STATUS"


def general_log(lab, host: str, start: float, end: float, user: str) -> list[tuple[float, int, str]]:
    with closing(lab.connect(host, read_timeout=120)) as conn, conn.cursor() as cur:
        cur.execute("SELECT UNIX_TIMESTAMP(event_time), thread_id, LEFT(CONVERT(argument USING utf8mb4), 40) "
                    "FROM mysql.general_log WHERE command_type='Query' AND user_host LIKE %s "
                    "AND event_time BETWEEN FROM_UNIXTIME(%s) AND FROM_UNIXTIME(%s)",
                    (user + "[%", start, end))
        return [(float(t), int(tid), str(arg)) for t, tid, arg in cur.fetchall()]


def probes(rows: list[tuple[float, int, str]]) -> dict[int, list[tuple[float, float]]]:
    """Per connection: (start, end) of each probe (server facts ... SHOW SLAVE STATUS)."""
    per: dict[int, list[tuple[float, float]]] = defaultdict(list)
    open_: dict[int, float] = {}
    for t, tid, arg in sorted(rows):
        if arg.startswith(FACTS):
            open_[tid] = t
        elif arg.startswith(LAST) and tid in open_:
            per[tid].append((open_.pop(tid), t))
    return per


def analyse(db1: dict, db2: dict, interval: float) -> dict:
    periods, late_by, late, missed = [], [], 0, 0
    for conns in (db1, db2):
        for lst in conns.values():
            for (a, _), (b, _) in zip(lst, lst[1:]):
                periods.append(b - a)
                over = b - (a + interval)
                late_by.append(over)
                if over > 0.1:
                    late += 1
                if b - a > 2 * interval:
                    missed += 1
    # pair each db1 connection with the db2 connection whose probe starts right after its probe ends
    starts2 = sorted((a, tid) for tid, lst in db2.items() for a, _ in lst)
    import bisect
    votes: dict[int, Counter] = defaultdict(Counter)
    keys = [s for s, _ in starts2]
    for tid, lst in db1.items():
        for _, e in lst:
            i = bisect.bisect_left(keys, e)
            if i < len(starts2) and starts2[i][0] - e < 0.05:
                votes[tid][starts2[i][1]] += 1
    pair = {tid: c.most_common(1)[0][0] for tid, c in votes.items() if c}
    lat = []
    for tid, lst in db1.items():
        other = db2.get(pair.get(tid, -1), [])
        j = 0
        for a, e in lst:
            while j < len(other) and other[j][0] < e:
                j += 1
            if j < len(other) and other[j][0] - e < 0.5:
                lat.append(other[j][1] - a)
    n_probes = sum(len(v) for v in db1.values())
    return {"connections_db1": len(db1), "connections_db2": len(db2), "probes_db1": n_probes,
            "period_p50_ms": ms(percentile(periods, 50)), "period_p99_ms": ms(percentile(periods, 99)),
            "period_max_ms": ms(max(periods) if periods else None),
            "late_by_p99_ms": ms(percentile(late_by, 99)), "late_over_100ms": late, "missed": missed,
            "probe_latency_p50_ms": ms(percentile(lat, 50)), "probe_latency_p99_ms": ms(percentile(lat, 99)),
            "probe_latency_max_ms": ms(max(lat) if lat else None), "latency_samples": len(lat)}


def ms(x):
    return None if x is None else round(x * 1000, 2)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1,50,200")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--probe-ms", type=int, default=1000)
    common_args(p)
    a = p.parse_args()
    out = results_dir(a.out)
    m = header("bench_scale")
    load = LoadWatch()
    stack = BenchStack("scale", a.verbose)
    results = []
    try:
        t = stack.lab_up(check_mha=False)
        print(f"# lab up (no MHA checks) in {t:.1f} s", flush=True)
        lab = stack.lab
        admin = getattr(lab, "accounts", ACCOUNTS)["admin"]
        for n in [int(x) for x in a.sizes.split(",")]:
            names = [f"s{n}c{i:03d}" for i in range(n)]
            confs = make_apps(lab, stack.work / f"apps-{n}", names)
            cfg = multi_cluster_config(lab, stack.work / f"scale-{n}.json", confs, "approve", a.probe_ms,
                                       stack.work / f"state-{n}", stable_seconds=30)
            general_log_on(lab, True, max_connections=1000)
            t_start = time.monotonic()
            d = stack.start_daemon(cfg, f"scale{n}")
            ready_s = time.monotonic() - t_start
            time.sleep(a.warmup)
            w0 = time.time()
            bg = AncestorEvents(confs[0].parent / "work" / "x", a.seconds)
            fp = footprint(d.pid, a.seconds)
            fp["events_per_s_in_flag_ancestors"] = bg.result()
            w1 = time.time()
            general_log_on(lab, False)
            rows1 = general_log(lab, "db1", w0, w1, admin)
            rows2 = general_log(lab, "db2", w0, w1, admin)
            states = Counter(r.get("STATE") for r in d.records() if r.get("AUDIT_KIND") == "transition")
            d.stop()
            an = analyse(probes(rows1), probes(rows2), a.probe_ms / 1000.0)
            r = {"clusters": n, "ready_s": round(ready_s, 2), **fp, **an, "transitions": dict(states)}
            results.append(r)
            print(f"# {n} clusters: CPU {fp['cpu_percent']}%, RSS {fp['rss_mib_max']} MiB, probe p99 "
                  f"{an['probe_latency_p99_ms']} ms, late {an['late_over_100ms']}", flush=True)
    finally:
        stack.stop(a.keep)
    ld = load.stop()
    table = print_table(f"scale: clusters probed every {a.probe_ms} ms, {a.seconds:.0f} s windows; "
                        "target at 200: CPU < 10%, no late probe",
                        ["clusters", "CPU %", "CPU %/cluster", "RSS MiB", "wakeups/s", "probes (db1)",
                         "period p50", "period p99", "late >100ms", "missed", "probe p50 ms", "probe p99 ms",
                         "probe max ms", "ancestor events/s"],
                        [[r["clusters"], r["cpu_percent"], round(r["cpu_percent"] / r["clusters"], 4),
                          r["rss_mib_max"], r["voluntary_cs_per_s"], r["probes_db1"], r["period_p50_ms"],
                          r["period_p99_ms"], r["late_over_100ms"], r["missed"], r["probe_latency_p50_ms"],
                          r["probe_latency_p99_ms"], r["probe_latency_max_ms"],
                          round(sum(r["events_per_s_in_flag_ancestors"].values()), 1)] for r in results])
    print(f"# load average (1 min) {ld['load1_min']}/{ld['load1_median']}/{ld['load1_max']}", flush=True)
    save_json(out, "bench_scale", {"machine": m, "load": ld, "args": vars(a), "results": results,
                                   "tables": [table]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
