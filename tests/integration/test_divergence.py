#!/usr/bin/env python3
"""End to end: a diverged old master is never rejoined (issue 3, test 4).

db2's IO thread is stopped, db1 commits N rows db2 never receives, db1's sshd goes down and its
mariadbd is killed: masterha_manager fails over without being able to save db1's binlogs ("Dead
Master is not SSH reachable"). When db1's host is back (its sshd; the database still down), the
daemon starts db1 over SSH, fences it, and the divergence gate finds the N transactions: the cluster
goes to `blocked`, the status names the extra GTID range, a report in the state directory lists it,
and db1 is left without any replication configured.

The extra transactions themselves are saved for the operator: mysqlbinlog, run by the daemon on the
manager host, reads them from db1 over the network into `history/<cluster>-divergence-<UTC>.binlog.sql`
beside the report. The file is 0600, holds the N rows written on the isolated db1 (decoded from the
row events by --verbose), and holds only the N extra GTIDs: none of the transactions db2 also has.
The report and the blocked reason name the file and the count; the option file that carried the
password is gone (no private directory is left in history/), and the password appears in no output.

Run: MHAFB_BUILD_DIR=<build> python3 tests/integration/test_divergence.py   (root)
"""

from __future__ import annotations

import re
import stat
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import CLUSTER, Checks, Stack, Timer, no_secret_in, role  # noqa: E402

N = 5


def scenario(c: Checks, stack: Stack) -> None:
    lab = stack.lab
    db1_ip = lab.host("db1").ip
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
    st = stack.wait_status(lambda s: db1_ip in s.get("status", "") and "host" in s.get("status", ""), 20)
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
        check_saved_transactions(c, stack, tr, text, recs, last)

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


def check_saved_transactions(c: Checks, stack: Stack, tr: dict, report: str, recs: list, last: int) -> None:
    """The extract beside the report: 0600, the N diverged rows, only the N extra GTIDs."""
    history = stack.state_dir / "history"
    extracts = sorted(history.glob(f"{CLUSTER}-divergence-*.binlog.sql"))
    if not c.check(len(extracts) == 1, f"one extract of the extra transactions: {sorted(p.name for p in history.iterdir())}"):
        return
    x = extracts[0]
    c.check(stat.S_IMODE(x.stat().st_mode) == 0o600, f"the extract is 0600 ({oct(stat.S_IMODE(x.stat().st_mode))})")
    body = x.read_text(errors="replace")
    missing = [i for i in range(N) if f"'only-on-db1-{i}'" not in body]
    c.check(not missing, f"the extract holds the {N} rows written on the isolated db1 (missing: {missing})")
    gtids = re.findall(r"^#\d.* server id \d+ .*\tGTID (\d+-\d+-\d+)", body, re.M)
    want = [f"0-1-{s}" for s in range(last - N + 1, last + 1)]
    c.check(gtids == want, f"the extract holds exactly the extra GTIDs {want[0]}..{want[-1]}, nothing db2 has: {gtids}")
    inserts = re.findall(r"^### INSERT INTO (\S+)", body, re.M)
    c.check(inserts == ["`lab`.`diverge`"] * N, f"its only row changes are the {N} diverged inserts: {inserts}")
    c.check(f"saved transactions: {x}" in report and f"saved transaction count: {N} (" in report,
            "the report names the extract and its count")
    c.check(f"its {N} extra transactions were saved in {x}" in tr["reason"],
            f"the blocked reason names the extract: {tr['reason']}")
    c.check(f"Next steps: inspect {x}" in report and f"mha-failbackctl ack {CLUSTER}" in report,
            "the report tells the operator what to do next")
    c.check(any(r.get("TRANSACTIONS_FILE") == str(x) for r in recs), "the divergence audit record names the extract")
    runs = [r for r in stack.daemon.audit() if r.get("AUDIT_KIND") == "command" and "mysqlbinlog" in r.get("COMMAND", "")]
    if c.check(len(runs) == 1, f"mysqlbinlog ran once, audited: {[r.get('message') for r in runs]}"):
        c.timing("mysqlbinlog extraction", int(runs[0].get("DURATION_MS", "0")) / 1000.0)
        c.check("--defaults-file=" in runs[0]["COMMAND"] and "password" not in runs[0]["COMMAND"].lower(),
                f"the password reached mysqlbinlog through the option file only: {runs[0]['COMMAND']}")
    leftovers = [p.name for p in history.iterdir() if p.name.startswith(".")]
    c.check(not leftovers, f"no private directory (option file with the password) left behind: {leftovers}")


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
