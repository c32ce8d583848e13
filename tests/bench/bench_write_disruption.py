#!/usr/bin/env python3
"""Benchmark 2: write disruption during the switch back, mha-failbackd vs a bare masterha_master_switch.

A steady writer (the lab's load client: one INSERT every ~10 ms through the `app` account, which
has no READ_ONLY ADMIN, following the writable server) runs during every switch. Per switch:

- gap: the longest time between two consecutive ACKNOWLEDGED writes in the switch window (server
  timestamps `written_at` of acknowledged ids, e2e_support.acked_write_gap);
- rejected: the writer's failed attempts in the window (its events.log), by error code;
- lost: acknowledged ids missing on either server at the end (`lab.verify`), which must be 0;
- breakdown, from the servers' general logs (server-side timestamps in microseconds): fence (MHA's
  SET GLOBAL read_only=1 on the current master) -> caught up (its MASTER_POS_WAIT on the target
  returns: the next statement on that connection) -> promote (SET GLOBAL read_only=0 on the
  target) -> first acknowledged write on the target (written_at);
  and, for the daemon, its own step timings (audit records of the switch-back step: the manager
  stop, masterha_check_status, masterha_master_switch with their DURATION_MS).

bare: the manager is stopped, `masterha_master_switch --master_state=alive --orig_master_is_new_slave`
switches db1 -> db2 and back (each direction is one sample).
daemon: per round, a real MHA failover to db2 with db1's host down (the writer paused so no write can
be lost by the failover itself), the writer restarted on db2, db1's host back; mha-failbackd in auto
mode (stable window 0) does the whole failback; the window is its switch-back step.

Run: MHAFB_LAB_IPS=127.0.0.81,127.0.0.82 MHAFB_BUILD_DIR=build-bench \
     /usr/bin/python3 tests/bench/bench_write_disruption.py [--rounds 3] [--bare 4]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (ACCOUNTS, BenchStack, general_log_on, LoadWatch, common_args, daemon_config, header, median,  # noqa: E402
                          print_table, results_dir, save_json)
from e2e_support import acked_write_gap  # noqa: E402


def admin_statements(lab, host: str, start: float, end: float) -> list[tuple[float, int, str]]:
    """(epoch, thread id, statement) of every statement but the writer's and ours in [start, end]."""
    user = getattr(lab, "accounts", ACCOUNTS)["admin"]
    with closing(lab.connect(host, read_timeout=60)) as conn, conn.cursor() as cur:
        cur.execute("SELECT UNIX_TIMESTAMP(event_time), thread_id, LEFT(CONVERT(argument USING utf8mb4), 120) "
                    "FROM mysql.general_log WHERE command_type='Query' AND user_host LIKE %s "
                    "AND event_time BETWEEN FROM_UNIXTIME(%s) AND FROM_UNIXTIME(%s) ORDER BY event_time",
                    (user + "[%", start, end))
        return [(float(t), int(tid), str(a)) for t, tid, a in cur.fetchall()]


def breakdown(lab, current: str, target: str, start: float, end: float) -> dict:
    """From the servers' general logs: the fence (SET GLOBAL read_only=1 on the current master), the
    wait for the target to apply everything (MASTER_POS_WAIT until the next statement on that
    connection) and the promotion (SET GLOBAL read_only=0 on the target)."""
    cur_st = admin_statements(lab, current, start, end)
    tgt_st = admin_statements(lab, target, start, end)
    ro1 = re.compile(r"(?i)set\s+global\s+read_only\s*=\s*(1|on)\b")
    ro0 = re.compile(r"(?i)set\s+global\s+read_only\s*=\s*(0|off)\b")
    fence = next((t for t, _, a in cur_st if ro1.search(a)), None)
    promote = next((t for t, _, a in tgt_st if ro0.search(a) and (fence is None or t >= fence)), None)
    wait_start = wait_end = None
    for k, (t, tid, a) in enumerate(tgt_st):
        if "master_pos_wait" in a.lower() and (fence is None or t >= fence):
            wait_start = t
            wait_end = next((t2 for t2, tid2, _ in tgt_st[k + 1:] if tid2 == tid), None)
            break
    return {"fence": fence, "wait_start": wait_start, "caught_up": wait_end, "promote": promote,
            "statements": {current: [(round((t - start) * 1000, 1), a[:70]) for t, _, a in cur_st][:150],
                           target: [(round((t - start) * 1000, 1), a[:70]) for t, _, a in tgt_st][:150]}}


def rejected_in(lab, start: float, end: float) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        text = lab.path("writer", "events.log").read_text(errors="replace")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        m = re.match(r"^(\d+\.\d+) id \d+ rejected by \S+: \(?(\d+)", line)
        if m and start <= float(m.group(1)) <= end:
            out[m.group(2)] = out.get(m.group(2), 0) + 1
    return out


def first_ack_on(lab, host: str, after: float) -> float | None:
    with closing(lab.connect(host)) as conn, conn.cursor() as cur:
        cur.execute("SELECT UNIX_TIMESTAMP(MIN(written_at)) FROM lab.writes WHERE written_to=%s "
                    "AND written_at > FROM_UNIXTIME(%s)", (host, after))
        (t,) = cur.fetchone()
    return float(t) if t is not None else None


def measure(lab, current: str, target: str, start: float, end: float, kind: str, extra: dict) -> dict:
    time.sleep(2.0)  # the writer finds the new master; its acks land after `end`
    win_end = end + 1.5
    master = target
    gap, n = acked_write_gap(lab, master, start, win_end)
    rej = rejected_in(lab, start, win_end)
    b = breakdown(lab, current, target, start, win_end)
    ack = first_ack_on(lab, target, b["promote"] or start)
    rel = lambda x: None if x is None else round((x - start) * 1000)  # noqa: E731
    row = {"kind": kind, "direction": f"{current}->{target}", "gap_ms": round(gap * 1000), "acked_in_window": n,
           "rejected": sum(rej.values()), "rejected_by_code": rej,
           "fence_ms": rel(b["fence"]), "caught_up_ms": rel(b["caught_up"]), "promote_ms": rel(b["promote"]),
           "first_ack_ms": rel(ack), "window_s": round(end - start, 3)}
    if b["fence"] and b["promote"]:
        row["fenced_to_promoted_ms"] = round((b["promote"] - b["fence"]) * 1000)
        if b["caught_up"]:
            row["catch_up_ms"] = round((b["caught_up"] - b["fence"]) * 1000)
            row["promote_after_catch_up_ms"] = round((b["promote"] - b["caught_up"]) * 1000)
    if b["promote"] and ack:
        row["writer_reconnect_ms"] = round((ack - b["promote"]) * 1000)
    row["server_statements"] = b["statements"]
    row.update(extra)
    return row


def stop_writer(lab, all_acks: Path) -> dict:
    """Stops the writer and keeps its acknowledged ids: writer_start empties acks.txt."""
    summary = lab.writer_stop()
    acks = lab.path("writer", "acks.txt")
    if acks.exists():
        with open(all_acks, "a") as f:
            f.write(acks.read_text())
    return summary


def bare_samples(stack: BenchStack, count: int) -> list[dict]:
    lab = stack.lab
    lab.manager_stop()
    out = []
    current, target = "db1", "db2"
    for i in range(count):
        lab.wait_replica_synced(target, current)
        start = time.time()
        rc, text = lab.master_switch_alive(target)
        end = time.time()
        if rc != 0:
            raise RuntimeError(f"masterha_master_switch to {target} failed (rc {rc}): {text[-800:]}")
        row = measure(lab, current, target, start, end, "bare", {"sample": i + 1, "tool_s": round(end - start, 3)})
        out.append(row)
        print(f"# bare {row['direction']}: gap {row['gap_ms']} ms, rejected {row['rejected']}", flush=True)
        current, target = target, current
    if current != "db1":  # end with db1 master
        lab.wait_replica_synced("db1", "db2")
        rc, text = lab.master_switch_alive("db1")
        if rc != 0:
            raise RuntimeError(f"masterha_master_switch back to db1 failed: {text[-800:]}")
    return out


def daemon_samples(stack: BenchStack, cfg: Path, rounds: int, all_acks: Path) -> list[dict]:
    lab = stack.lab
    out = []
    d = stack.start_daemon(cfg)
    for i in range(rounds):
        lab.manager_start()
        stop_writer(lab, all_acks)
        m0 = d.mark()
        fo = lab.failover(mode="manager", ssh_down=True)
        if not (fo.rc in (0, None) and fo.completed_text and fo.flag_written and fo.new_master_writable):
            raise RuntimeError(f"MHA failover failed: {fo}")
        if d.wait_state("degraded", 60, since=m0) is None:
            raise RuntimeError(f"the daemon did not notice the failover:\n{d.tail()}")
        lab.writer_start()
        time.sleep(1.0)
        m1 = d.mark()
        lab.start_sshd("db1")
        # db1's mariadbd is started by the daemon, with the general log off: turn it on as soon as
        # it answers (the switch comes several seconds later, after the rejoin and the MHA checks).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with lab.connect("db1", timeout=0.5) as conn, conn.cursor() as cur:
                    cur.execute("SET GLOBAL log_output='TABLE'")
                    cur.execute("SET GLOBAL general_log=1")
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        sw = d.wait_line(lambda s: "MESSAGE_ID=" in s and "AUDIT_KIND=step-started" in s and "STEP=switch-back" in s,
                         400, since=m1)
        if sw is None:
            raise RuntimeError(f"no switch-back step:\n{d.tail(40)}")
        tr = d.wait_state("switched-back", 300, since=sw[0])
        if tr is None or tr.get("STATE") != "switched-back":
            raise RuntimeError(f"the switch back did not complete: {tr and tr['message']}\n{d.tail(40)}")
        start, end = sw[2], tr["epoch"]
        recs = d.records(sw[0], tr["index"] + 1)
        steps = [{"what": (r.get("COMMAND") or r.get("SQL") or r["message"])[:90], "ms": int(r["DURATION_MS"]),
                  "end_ms": round((r["epoch"] - start) * 1000)}
                 for r in recs if "DURATION_MS" in r]
        row = measure(lab, "db2", "db1", start, end, "daemon", {"sample": i + 1, "daemon_records": steps})
        out.append(row)
        print(f"# daemon round {i + 1}: gap {row['gap_ms']} ms, rejected {row['rejected']}", flush=True)
        h = d.wait_state("healthy", 300, since=tr["index"])
        if h is None or h.get("STATE") != "healthy":
            raise RuntimeError(f"not healthy after the switch back:\n{d.tail(40)}")
    d.stop()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="daemon failbacks (default 3)")
    p.add_argument("--bare", type=int, default=4, help="bare masterha_master_switch runs (default 4)")
    p.add_argument("--probe-ms", type=int, default=1000)
    common_args(p)
    a = p.parse_args()
    out = results_dir(a.out)
    m = header("bench_write_disruption")
    load = LoadWatch()
    stack = BenchStack("writes", a.verbose)
    rows: list[dict] = []
    verify = {}
    try:
        t = stack.lab_up()
        print(f"# lab up in {t:.1f} s", flush=True)
        cfg = daemon_config(stack.lab, stack.work / "mha-failback.json", "auto", 0, a.probe_ms)
        general_log_on(stack.lab, True)
        stack.lab.writer_start()
        time.sleep(1.0)
        rows += bare_samples(stack, a.bare)
        all_acks = stack.work / "all-acks.txt"
        rows += daemon_samples(stack, cfg, a.rounds, all_acks)
        time.sleep(1.0)
        summary = stop_writer(stack.lab, all_acks)
        for h in ("db1", "db2"):
            v = stack.lab.verify(h, acks=all_acks, checksum_wait=30)
            verify[h] = {"acked": v["acked"], "missing": v["missing"], "checksums_equal": v.get("checksums_equal")}
        verify["writer_last_run"] = summary
    finally:
        stack.stop(a.keep)
    ld = load.stop()
    table = print_table("write disruption per switch (ms from the switch's start)",
                        ["kind", "dir", "gap", "rejected", "fence", "caught up", "promote", "first ack",
                         "fenced->promoted", "reconnect"],
                        [[r["kind"], r["direction"], r["gap_ms"], r["rejected"], r["fence_ms"], r["caught_up_ms"],
                          r["promote_ms"], r["first_ack_ms"], r.get("fenced_to_promoted_ms"),
                          r.get("writer_reconnect_ms")] for r in rows])
    med = {k: {f: median([r[f] for r in rows if r["kind"] == k and r.get(f) is not None])
               for f in ("gap_ms", "rejected", "fenced_to_promoted_ms", "catch_up_ms", "writer_reconnect_ms")}
           for k in ("bare", "daemon")}
    lost = sum(v["missing"] for h, v in verify.items() if h in ("db1", "db2"))
    summ = print_table("summary (medians)", ["metric", "bare master_switch", "mha-failbackd", "target"], [
        ["longest gap between acked writes (ms)", med["bare"]["gap_ms"], med["daemon"]["gap_ms"], "daemon <= bare"],
        ["rejected writes", med["bare"]["rejected"], med["daemon"]["rejected"], ""],
        ["fenced -> target writable (ms)", med["bare"]["fenced_to_promoted_ms"], med["daemon"]["fenced_to_promoted_ms"], ""],
        ["  of which catch-up (ms)", med["bare"]["catch_up_ms"], med["daemon"]["catch_up_ms"], ""],
        ["writable -> first acked write (ms)", med["bare"]["writer_reconnect_ms"], med["daemon"]["writer_reconnect_ms"], ""],
        ["acknowledged writes lost (whole run, both servers)", lost, lost, "0"],
        ["load average (1 min) min/median/max", f"{ld['load1_min']}/{ld['load1_median']}/{ld['load1_max']}", "", ""],
    ])
    save_json(out, "bench_write_disruption", {"machine": m, "load": ld, "args": vars(a), "switches": rows,
                                              "medians": med, "verify": verify, "lost": lost,
                                              "tables": [table, summ]})
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
