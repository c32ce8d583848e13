#!/usr/bin/env python3
"""End to end: a diverged old master is never rejoined (issue 3, test 4).

db2's IO thread is stopped, db1 commits N rows db2 never receives, db1's sshd goes down and its
mariadbd is killed: masterha_manager fails over without being able to save db1's binlogs ("Dead
Master is not SSH reachable"). When db1's host is back (its sshd; the database still down), the
daemon starts db1 over SSH, fences it, and the divergence gate finds the N transactions: the cluster
goes to `blocked`, the status names the extra GTID range, a report in the state directory lists it,
and db1 is left without any replication configured.

Run: MHAFB_BUILD_DIR=<build> python3 tests/integration/test_divergence.py   (root)
"""

from __future__ import annotations

import stat
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import CLUSTER, Checks, Stack, Timer, no_secret_in, role  # noqa: E402

N = 5


def scenario(c: Checks, stack: Stack) -> None:
    lab = stack.lab
    stack.start_daemon(mode="approve")
    st = stack.wait_status(lambda s: s.get("state") == "healthy", 30)
    c.check(st is not None, "daemon up, healthy")
    lab.manager_start()
    time.sleep(1.0)
    fo = lab.failover(mode="manager", ssh_down=True, diverge_rows=N)
    c.timing("MHA failover with db1 unreachable over SSH", fo.seconds)
    c.check(fo.flag_written and fo.new_master_writable and not fo.dead_master_ssh_reachable,
            f"MHA failed over to db2 without reaching db1 over SSH (rc {fo.rc}); db1 at {fo.diverged_gtid}, "
            f"db2 at {fo.new_master_gtid}")
    last = int(fo.diverged_gtid.split(",")[0].split("-")[2])
    extra = f"0-1-{last - N + 1}..0-1-{last}"

    tr = stack.wait_state("degraded", 60)
    c.check(tr is not None, f"degraded: {tr and tr['reason']}")
    st = stack.wait_status(lambda s: "127.0.0.11" in s.get("status", "") and "host" in s.get("status", ""), 20)
    c.check(st is not None, f"while db1's host is unreachable the status says so: {st and st.get('status')}")

    lab.start_sshd("db1")  # the host is back; its database is not
    with Timer(c, "sshd back -> blocked"):
        tr = stack.wait_state("blocked", 180, allow_blocked=True)
    if not c.check(tr is not None, f"blocked: {tr and tr['reason']}"):
        return
    c.check(tr["from"] == "degraded" and tr["step"] == "divergence-gate", f"blocked by the divergence gate ({tr})")
    c.check(extra in tr["reason"], f"the reason names the extra transactions {extra}: {tr['reason']}")
    st = stack.ctl.status()
    c.check(st.get("state") == "blocked" and extra in st.get("status", "") and extra in st.get("last_error", ""),
            f"status and last error name them: {st.get('status')}")

    reports = sorted((stack.state_dir / "history").glob(f"{CLUSTER}-divergence-*.txt"))
    c.check(len(reports) == 1, f"one divergence report in the state dir: {[p.name for p in reports]}")
    if reports:
        text = reports[0].read_text()
        c.check(f"extra transactions: {extra}" in text, f"the report lists {extra}")
        c.check(stat.S_IMODE(reports[0].stat().st_mode) == 0o600, "the report is 0600")
        print("  ---- report ----\n  " + "\n  ".join(text.strip().splitlines()), flush=True)
        recs = [r for r in stack.daemon.audit() if r.get("AUDIT_KIND") == "divergence"]
        c.check(any(r.get("REPORT") == str(reports[0]) for r in recs), "the divergence audit record names the report")

    r1, r2 = role(lab, "db1"), role(lab, "db2")
    c.check(r1["up"] and r1.get("read_only") == 1 and not r1.get("source"),
            f"db1 started and fenced but NOT rejoined: no replication configured ({r1})")
    c.check(r2.get("read_only") == 0 and not r2.get("source"), f"db2 stays the writable master ({r2})")
    c.check(lab.sql_value("db1", "SELECT COUNT(*) FROM lab.diverge") == N
            and lab.sql_value("db2", "SELECT COUNT(*) FROM lab.diverge") == 0,
            f"the {N} diverged rows are on db1 only")
    sqls = [r["message"] for r in stack.daemon.audit() if r.get("AUDIT_KIND") == "sql"]
    c.check(not any("CHANGE MASTER" in s.upper() or "START SLAVE" in s.upper() for s in sqls),
            f"no CHANGE MASTER / START SLAVE was run: {sqls}")
    c.check(lab.failover_flag.exists() and lab.manager_running() is None,
            "the failover flag stays, no manager was started")
    r = stack.ctl.run("failback", CLUSTER, timeout=60)
    c.check(r.returncode == 1 and "blocked" in r.stderr, f"failback refused while blocked: {r.stderr.strip()[:200]}")
    c.check(no_secret_in(stack.daemon.text(), lab), "no password in the daemon's output")
    stack.stop_daemon()


def main() -> int:
    c = Checks("test_divergence")
    stack = Stack("divergence", c)
    try:
        stack.lab_up()
        with Timer(c, "divergence scenario"):
            scenario(c, stack)
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
