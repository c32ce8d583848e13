#!/usr/bin/env python3
"""Benchmark 1: failback time, mha-failbackd (auto mode, stable window 0) vs the runbook as a script.

One lab, one run, rounds alternating between the two (daemon, runbook, daemon, ...), each round
starting from the same world: db1 master, db2 its replica, MHA's manager running. Each round:

1. db1's sshd is stopped and db1's mariadbd is SIGKILLed; masterha_manager fails over to db2
   (`lab.failover(mode="manager", ssh_down=True)`): the old master's host is "down".
2. t0: db1's sshd is started again: "the old master is reachable again", its MySQL still stopped
   (the runbook's precondition).
3. daemon: mha-failbackd, already running in auto mode with `validation.stable_seconds` 0, notices
   the host, starts mariadbd over SSH, fences it, passes the divergence gate, rejoins it by GTID,
   validates (replication + masterha_check_ssh + masterha_check_repl), switches back, restarts the
   manager and checks it; t1 = its transition to `healthy` (audit record, stamped on arrival).
   runbook: `lab.runbook()` (tests/lab/lab_runbook.py, the operators' steps verbatim, including
   the 1 s pause before SHOW SLAVE STATUS); t1 = its last step (masterha_check_repl) returning OK.

Reported: per-round times, medians, the ratio daemon/runbook (also against the runbook without its
1 s pause), and the daemon's own overhead: the window's wall time not covered by any audited
command, remote command or statement (their DURATION_MS), broken down by gap, with the daemon's
own CPU time in the window (/proc/<pid>/stat utime+stime) as the part spent computing.

Run: MHAFB_LAB_IPS=127.0.0.81,127.0.0.82 MHAFB_BUILD_DIR=build-bench \
     /usr/bin/python3 tests/bench/bench_failback.py [--rounds 3] [--probe-ms 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (BenchStack, LoadWatch, common_args, daemon_config, header, median,  # noqa: E402
                          print_table, proc_sample, results_dir, save_json)

TIMED_KINDS = ("command", "remote-command", "sql")


def union_covered(intervals: list[tuple[float, float]], lo: float, hi: float) -> tuple[float, list]:
    """Seconds of [lo, hi] covered by the intervals, and the uncovered gaps (start, end)."""
    iv = sorted((max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi)
    covered, gaps, cur = 0.0, [], lo
    for a, b in iv:
        if a > cur:
            gaps.append((cur, a))
        if b > cur:
            covered += b - max(a, cur)
            cur = b
    if hi > cur:
        gaps.append((cur, hi))
    return covered, gaps


def analyse_daemon(records: list[dict], t0: float, t1: float) -> dict:
    intervals, timed = [], []
    for r in records:
        if r.get("AUDIT_KIND") in TIMED_KINDS and "DURATION_MS" in r:
            d = int(r["DURATION_MS"]) / 1000.0
            intervals.append((r["t"] - d, r["t"]))
            timed.append({"kind": r["AUDIT_KIND"], "what": r.get("COMMAND") or r.get("SQL") or r["message"][:80],
                          "server": r.get("SERVER", ""), "ms": int(r["DURATION_MS"]),
                          "end_s": round(r["t"] - t0, 3)})
    covered, gaps = union_covered(intervals, t0, t1)

    def label(at: float) -> str:
        # what the daemon recorded last before the gap ended: names the wait
        last = None
        for r in records:
            if r["t"] <= at + 1e-6:
                last = r
        return (last["message"][:110] if last else "(before the first record)")

    big = [{"from_s": round(a - t0, 3), "to_s": round(b - t0, 3), "ms": round((b - a) * 1000),
            "after": label(a)} for a, b in gaps if b - a >= 0.05]
    steps = []
    started = {}
    for r in records:
        k = r.get("AUDIT_KIND")
        if k == "step-started":
            started[r.get("STEP")] = r["t"]
        elif k == "step-finished" and r.get("STEP") in started:
            steps.append({"step": r.get("STEP"), "ms": round((r["t"] - started.pop(r.get("STEP"))) * 1000),
                          "result": r["message"][:100]})
        elif k in ("transition", "blocked") and r.get("STATE_FROM"):
            steps.append({"transition": f"{r['STATE_FROM']} -> {r.get('STATE')}", "at_s": round(r["t"] - t0, 3)})
    return {"covered_s": round(covered, 3), "uncovered_s": round((t1 - t0) - covered, 3),
            "gaps_over_50ms": big, "small_gaps_s": round(sum(b - a for a, b in gaps if b - a < 0.05), 3),
            "timed": timed, "steps": steps,
            "checks": sorted({t["what"].split()[0].split("/")[-1] for t in timed if t["kind"] != "sql"})}


def daemon_round(stack: BenchStack, cfg: Path, n: int) -> dict:
    lab = stack.lab
    d = stack.start_daemon(cfg)
    lab.manager_start()
    m0 = d.mark()
    fo = lab.failover(mode="manager", ssh_down=True)
    if not (fo.rc in (0, None) and fo.completed_text and fo.flag_written and fo.new_master_writable):
        raise RuntimeError(f"round {n}: MHA failover failed: {fo}")
    if d.wait_state("degraded", 60, since=m0) is None:
        raise RuntimeError(f"round {n}: the daemon did not notice the failover:\n{d.tail()}")
    time.sleep(1.5)  # a few probes see the old master's host down
    m1 = d.mark()
    cpu0 = proc_sample(d.pid)
    t0 = time.monotonic()
    lab.start_sshd("db1")
    tr = d.wait_state("healthy", 400, since=m1)
    cpu1 = proc_sample(d.pid)
    if tr is None or tr.get("STATE") != "healthy":
        raise RuntimeError(f"round {n}: the daemon did not reach healthy: {tr and tr['message']}\n{d.tail(40)}")
    t1 = tr["t"]
    recs = d.records(m1, tr["index"] + 1)
    a = analyse_daemon(recs, t0, t1)
    rc = d.stop()
    return {"round": n, "kind": "daemon", "seconds": round(t1 - t0, 3), "failover_s": fo.seconds,
            "daemon_cpu_s": round(cpu1["cpu_s"] - cpu0["cpu_s"], 3), "daemon_exit": rc, **a}


def runbook_round(stack: BenchStack, n: int) -> dict:
    lab = stack.lab
    lab.manager_start()
    fo = lab.failover(mode="manager", ssh_down=True)
    if not (fo.rc in (0, None) and fo.completed_text and fo.flag_written and fo.new_master_writable):
        raise RuntimeError(f"round {n}: MHA failover failed: {fo}")
    time.sleep(1.5)
    t0 = time.monotonic()
    lab.start_sshd("db1")
    rep = lab.runbook()
    t1 = time.monotonic()
    if not rep["ok"]:
        raise RuntimeError(f"round {n}: the runbook failed at {rep.get('failed_step')}: {rep['steps'][-1]}")
    # Leave the pair as a daemon round does: db2 replicating from db1 again (the runbook does that).
    return {"round": n, "kind": "runbook", "seconds": round(t1 - t0, 3), "failover_s": fo.seconds,
            "steps": [{"step": s["name"], "s": s["seconds"]} for s in rep["steps"]],
            "pause_s": 1.0}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds of each kind (default 3)")
    p.add_argument("--probe-ms", type=int, default=1000, help="the daemon's probe interval (default 1000, "
                   "the shipped default)")
    common_args(p)
    a = p.parse_args()
    out = results_dir(a.out)
    m = header("bench_failback")
    load = LoadWatch()
    stack = BenchStack("failback", a.verbose)
    rounds: list[dict] = []
    try:
        t = stack.lab_up()
        print(f"# lab up in {t:.1f} s", flush=True)
        cfg = daemon_config(stack.lab, stack.work / "mha-failback.json", "auto", 0, a.probe_ms)
        for i in range(a.rounds):
            order = ("daemon", "runbook") if i % 2 == 0 else ("runbook", "daemon")
            for kind in order:
                r = daemon_round(stack, cfg, i + 1) if kind == "daemon" else runbook_round(stack, i + 1)
                rounds.append(r)
                save_json(out, "bench_failback.partial", {"rounds": rounds})
                extra = (f"uncovered {r['uncovered_s']:.3f} s, daemon CPU {r['daemon_cpu_s']:.3f} s"
                         if kind == "daemon" else "")
                print(f"# round {i + 1} {kind}: {r['seconds']:.2f} s {extra}", flush=True)
    finally:
        stack.stop(a.keep)
    ld = load.stop()
    dm = [r["seconds"] for r in rounds if r["kind"] == "daemon"]
    rb = [r["seconds"] for r in rounds if r["kind"] == "runbook"]
    md, mr = median(dm), median(rb)
    unc = median([r["uncovered_s"] for r in rounds if r["kind"] == "daemon"])
    cpu = median([r["daemon_cpu_s"] for r in rounds if r["kind"] == "daemon"])
    own = median([r["small_gaps_s"] for r in rounds if r["kind"] == "daemon"])
    waits = median([sum(g["ms"] for g in r["gaps_over_50ms"]) / 1000.0 for r in rounds if r["kind"] == "daemon"])
    rows = [[r["round"], r["kind"], r["seconds"], r.get("uncovered_s"), r.get("daemon_cpu_s"), r["failover_s"]]
            for r in rounds]
    table = print_table("failback time: old master reachable -> healthy (s)",
                        ["round", "kind", "seconds", "uncovered s", "daemon CPU s", "MHA failover s"], rows)
    ratio = md / mr if md and mr else None
    ratio_np = md / (mr - 1.0) if md and mr else None
    summary = print_table("summary", ["metric", "value", "target"], [
        ["daemon median (s)", md, ""], ["runbook median (s)", mr, ""],
        ["ratio daemon/runbook", ratio, "<= 0.6"],
        ["ratio vs runbook without its 1 s pause", ratio_np, "<= 0.6"],
        ["daemon: wall time not in a tool/SQL/remote cmd, median (s)", unc, "< 0.2"],
        ["  of which gaps >= 50 ms (waiting for the next probe), median (s)", waits, ""],
        ["  of which gaps < 50 ms between its actions, median (s)", own, ""],
        ["daemon: own CPU time in the window, median (s)", cpu, "< 0.2"],
        ["load average (1 min) min/median/max", f"{ld['load1_min']}/{ld['load1_median']}/{ld['load1_max']}", ""],
    ])
    save_json(out, "bench_failback", {"machine": m, "load": ld, "args": vars(a), "rounds": rounds,
                                      "daemon_median_s": md, "runbook_median_s": mr, "ratio": ratio,
                                      "ratio_without_pause": ratio_np, "daemon_uncovered_median_s": unc,
                                      "daemon_cpu_median_s": cpu, "daemon_small_gaps_median_s": own,
                                      "daemon_probe_waits_median_s": waits, "tables": [table, summary]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
