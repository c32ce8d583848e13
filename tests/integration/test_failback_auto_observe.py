#!/usr/bin/env python3
"""End to end, observe mode then auto mode, on one lab and one real MHA failover (issue 3, test 2).

observe: mha-failbackd notices the failover (degraded) and says what it would do, and changes
nothing at all: db1 stays down; once the test itself starts db1 (writable, as someone restarting a
crashed master would), observe neither fences it nor configures replication; its audit output holds
no statement, remote command or step; the failover flag stays; a failback request is refused.

auto: the daemon is restarted on the same state directory with mode auto. It resumes from the
persisted `degraded`, fences db1, passes the divergence gate, rejoins, validates and switches the
master role back by itself (no trigger), restarts MHA's manager and reports healthy. Under the
load client: every acknowledged write on both servers, equal checksums, the switch's write gap.

Run: MHAFB_BUILD_DIR=<build> python3 tests/integration/test_failback_auto_observe.py   (root)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import (CLUSTER, DB1, Checks, Stack, Timer, acked_write_gap, audit_kinds,  # noqa: E402
                         check_data, check_final_roles, no_secret_in, role, transition_pairs)
import lab_proc  # noqa: E402

SIDE_EFFECT_KINDS = ("sql", "remote-command", "step-started", "skipped-event")


def observe(c: Checks, stack: Stack) -> bool:
    lab = stack.lab
    d = stack.start_daemon(mode="observe")
    st = stack.wait_status(lambda s: s.get("state") == "healthy" and s.get("mode") == "observe", 30)
    c.check(st is not None, f"observe daemon up, healthy: {st and st.get('status')}")
    lab.writer_start()
    lab.manager_start()
    time.sleep(1.0)
    fo = lab.failover(mode="manager")
    c.timing("MHA failover", fo.seconds)
    c.check(fo.rc == 0 and fo.flag_written and fo.new_master_writable, f"MHA failed db1 over to db2 (rc {fo.rc})")
    flag_mtime = lab.failover_flag.stat().st_mtime_ns

    tr = stack.wait_state("degraded", 60)
    c.check(tr is not None, f"observe detects the failover (reading is allowed): {tr and tr['reason']}")
    st = stack.wait_status(lambda s: s.get("status", "").startswith("observe mode, nothing done; next step would be "), 20)
    c.check(st is not None and DB1 in st.get("status", ""),
            f"status says what it would do: {st and st.get('status')}")
    time.sleep(3.0)  # six probe intervals
    c.check(lab.db_running("db1") is None and not lab_proc.tcp_open(DB1, 3306),
            "db1 is still down: observe did not start it")
    r = stack.ctl.run("failback", CLUSTER, timeout=60)
    c.check(r.returncode == 1 and "observe mode" in r.stderr,
            f"a failback request is refused in observe mode (exit {r.returncode}: {r.stderr.strip()})")

    # Someone starts db1, writable. Observe must leave it exactly so.
    lab.start_db("db1")
    st = stack.wait_status(lambda s: "next step would be fence:" in s.get("status", ""), 20)
    c.check(st is not None, f"with db1 up, status says it would fence it: {st and st.get('status')}")
    time.sleep(3.0)
    r1 = role(lab, "db1")
    c.check(r1.get("read_only") == 0 and not r1.get("source"),
            f"db1 untouched: still writable, no replication configured ({r1})")
    r2 = role(lab, "db2")
    c.check(r2.get("read_only") == 0 and not r2.get("source"), f"db2 untouched: the writable master ({r2})")
    c.check(lab.failover_flag.exists() and lab.failover_flag.stat().st_mtime_ns == flag_mtime,
            "the failover flag is still in place, unmodified")
    c.check(lab.manager_running() is None, "no MHA manager was started")
    recs = d.audit()
    effects = [r for r in recs if r.get("AUDIT_KIND") in SIDE_EFFECT_KINDS]
    commands = [r for r in recs if r.get("AUDIT_KIND") == "command"]
    c.check(not effects, f"no statement, remote command or step in the audit output: {audit_kinds(recs)}"
            + (f" {[r['message'] for r in effects][:5]}" if effects else ""))
    c.check(all(r.get("COMMAND", "").split(" ")[0].split("/")[-1] in ("masterha_check_status", "masterha_check_ssh",
                                                                      "masterha_check_repl") for r in commands),
            f"no local command with side effects: {[r.get('COMMAND') for r in commands]}")
    sf = stack.state_file()
    c.check(sf.get("state") == "degraded", f"persisted state: {sf.get('state')}")
    stack.stop_daemon()
    return True


def auto(c: Checks, stack: Stack) -> None:
    lab = stack.lab
    d = stack.start_daemon(mode="auto")  # same state dir: resumes from degraded
    c.check("resumed from" in d.text(), "the auto daemon resumed from the persisted state")
    with Timer(c, "auto: resume -> validated"):
        tr_val = stack.wait_state("validated", 300)
    c.check(tr_val is not None, "auto: validated")
    with Timer(c, "auto: validated -> switched-back (no trigger)"):
        tr_sw = stack.wait_state("switched-back", 180)
    c.check(tr_sw is not None and "auto mode" in _step_sentence(d, "switch-back"),
            f"auto: switched back by itself ({_step_sentence(d, 'switch-back')})")
    with Timer(c, "auto: switched-back -> healthy"):
        tr_h = stack.wait_state("healthy", 240)
    c.check(tr_h is not None, f"auto: healthy: {tr_h and tr_h['reason']}")
    time.sleep(1.0)
    summary = lab.writer_stop()
    check_final_roles(c, lab)
    h = lab.health() or {}
    c.check(lab.manager_running() is not None and h.get("code") == 0, f"MHA manager running, {h.get('name')}")
    check_data(c, lab)
    if tr_val and tr_sw:
        gap, n = acked_write_gap(lab, "db1", tr_val["epoch"], tr_sw["epoch"] + 1.0)
        c.note(f"auto: longest gap between acknowledged writes during the switch back: {gap * 1000:.0f} ms "
               f"({n} writes in the window); whole run incl. the failover: {summary.get('longest_gap_ms')} ms")
    ops = [r for r in d.audit() if r.get("AUDIT_KIND") == "operation"]
    c.check(not any("failback approved" in r["message"] for r in ops), "auto mode needed no approval")
    pairs = transition_pairs(d.poll_transitions())
    expected = [("degraded", "slave-rejoined"), ("slave-rejoined", "validated"), ("validated", "switched-back"),
                ("switched-back", "healthy")]
    c.check(pairs == expected, f"auto: state sequence {pairs}")
    c.check(no_secret_in(d.text(), lab), "no password in the daemon's output")
    for line in stack.story():
        print("  " + line, flush=True)
    stack.stop_daemon()


def _step_sentence(d, step: str) -> str:
    for r in d.audit():
        if r.get("AUDIT_KIND") == "step-started" and r.get("STEP") == step:
            return r["message"]
    return ""


def main() -> int:
    c = Checks("test_failback_auto_observe")
    stack = Stack("auto-observe", c)
    try:
        stack.lab_up()
        with Timer(c, "observe phase"):
            observe(c, stack)
        with Timer(c, "auto phase"):
            auto(c, stack)
    except Exception as e:  # noqa: BLE001 - report, then clean up
        import traceback
        traceback.print_exc()
        c.check(False, f"unexpected error: {e}")
    finally:
        if c.failed:
            stack.failure_context()
        stack.stop()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
