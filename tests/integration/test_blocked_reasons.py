#!/usr/bin/env python3
"""End to end: four ways the failback must stop in `blocked` with a clear reason, and change
nothing it should not (issue 3, test 5). One lab, one real MHA failover (db1 -> db2), then four
daemon runs, each with its own state directory:

a. wrong host key: known_hosts holds another key for db1 -> blocked at once; db1 not started.
b. old master never comes back: db1's sshd down, old_master_return 6 s -> blocked; nothing touched.
c. wrong replication password: db1 is started, fenced and rejoined, its IO thread cannot log in ->
   blocked; db2 stays the only writable master, no switch, the flag stays.
d. MHA manager that fails to restart (manager_start = /bin/false), auto mode: the switch back
   happens, the restore step cannot start the manager -> blocked; the roles are the switched ones,
   no manager runs, no acknowledged write lost.

Run: MHAFB_BUILD_DIR=<build> python3 tests/integration/test_blocked_reasons.py   (root)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import DB1, DB2, Checks, Stack, Timer, check_data, check_final_roles, no_secret_in, role  # noqa: E402
import lab_proc  # noqa: E402


def blocked_run(c: Checks, stack: Stack, case: str, overrides: dict, timeout: float, mode: str = "approve"):
    """Starts a daemon for one case on its own state dir; returns the transition into blocked."""
    with Timer(c, f"{case}: daemon start -> blocked"):
        stack.start_daemon(mode=mode, overrides=overrides, state_dir=stack.work / f"state-{case}",
                           config_name=f"config-{case}.json")
        tr = stack.wait_state("blocked", timeout, allow_blocked=True)
    c.check(tr is not None, f"{case}: blocked: {tr and tr['reason']}")
    st = stack.ctl.status()
    c.check(st.get("state") == "blocked" and st.get("last_error"),
            f"{case}: status {st.get('state')}: {st.get('status')}")
    return tr, st


def nothing_changed(c: Checks, stack: Stack, case: str, db1_down: bool) -> None:
    lab = stack.lab
    r2 = role(lab, "db2")
    c.check(r2.get("read_only") == 0 and not r2.get("source"), f"{case}: db2 still the writable master ({r2})")
    if db1_down:
        c.check(lab.db_running("db1") is None and not lab_proc.tcp_open(DB1, 3306),
                f"{case}: db1 still down (not started)")
    else:
        r1 = role(lab, "db1")
        c.check(r1.get("read_only") == 1, f"{case}: db1 fenced, never writable beside db2 ({r1})")
    c.check(lab.failover_flag.exists(), f"{case}: the failover flag is still in place")
    c.check(lab.manager_running() is None, f"{case}: no MHA manager was started")
    sqls = [r["message"] for r in stack.daemon.audit() if r.get("AUDIT_KIND") == "sql"]
    c.check(not any(f"{DB2}:" in s or s.startswith(DB2) for s in sqls),
            f"{case}: no statement changed db2: {[s for s in sqls if DB2 in s]}")


def main() -> int:
    c = Checks("test_blocked_reasons")
    stack = Stack("blocked", c)
    lab = stack.lab
    try:
        stack.lab_up()
        lab.manager_start()
        time.sleep(1.0)
        fo = lab.failover(mode="manager")
        c.timing("MHA failover", fo.seconds)
        c.check(fo.flag_written and fo.new_master_writable, f"MHA failed db1 over to db2 (rc {fo.rc})")

        # --- a. wrong host key --------------------------------------------------------------------
        key = stack.work / "other_host_key"
        subprocess.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True,
                       stdin=subprocess.DEVNULL, capture_output=True)
        other = key.with_suffix(".pub").read_text().split()
        lines = [ln for ln in lab.known_hosts.read_text().splitlines() if not ln.startswith(f"[{DB1}]")]
        bad_known_hosts = stack.work / "known_hosts.wrong"
        bad_known_hosts.write_text("\n".join([f"[{DB1}]:2222 {other[0]} {other[1]}", *lines]) + "\n")
        tr, st = blocked_run(c, stack, "a-host-key", {"ssh": {"known_hosts": str(bad_known_hosts)}}, 60)
        if tr:
            c.check(DB1 in tr["reason"] and "CHANGED" in tr["reason"],
                    f"a: the reason names the changed host key of {DB1}: {tr['reason']}")
        nothing_changed(c, stack, "a", db1_down=True)
        remote = [r for r in stack.daemon.audit() if r.get("AUDIT_KIND") == "remote-command"]
        c.check(not remote, f"a: no remote command ran: {[r['message'] for r in remote]}")
        stack.stop_daemon()

        # --- b. old master never comes back ---------------------------------------------------------
        lab.stop_sshd("db1")
        tr, st = blocked_run(c, stack, "b-never-back", {"timeouts": {"old_master_return_seconds": 6}}, 90)
        if tr:
            c.check(DB1 in tr["reason"] and "did not come back within 6s" in tr["reason"],
                    f"b: the reason says the old master did not come back: {tr['reason']}")
        nothing_changed(c, stack, "b", db1_down=True)
        stack.stop_daemon()
        lab.start_sshd("db1")

        # --- c. wrong replication password -----------------------------------------------------------
        wrong = stack.work / "repl.wrong.password"
        fd = os.open(wrong, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("not-the-replication-password\n")
        writer_pid = lab.writer_start()
        tr, st = blocked_run(c, stack, "c-repl-password",
                             {"replication": {"password_file": str(wrong)},
                              "timeouts": {"catch_up_seconds": 15}}, 180)
        if tr:
            c.check(DB1 in tr["reason"] and "error 1045" in tr["reason"] and "Access denied" in tr["reason"],
                    f"c: the reason names the failed replication login: {tr['reason']}")
        r1 = role(lab, "db1")
        c.check(r1.get("source") == DB2 and r1.get("io") != "Yes" and r1.get("last_io_errno") == 1045,
                f"c: db1's replication cannot log in (IO {r1.get('io')}, error {r1.get('last_io_errno')})")
        nothing_changed(c, stack, "c", db1_down=False)
        c.check(not any(r.get("STEP") == "switch-back" for r in stack.daemon.audit()), "c: no switch back was tried")
        c.check(no_secret_in(stack.daemon.text(), lab) and "not-the-replication-password" not in stack.daemon.text(),
                "c: neither the right nor the wrong password appears in the daemon's output")
        stack.stop_daemon()
        # The operator's clean-up before the next case: replication off on db1 (it stays fenced).
        lab.sql("db1", "STOP SLAVE")
        lab.sql("db1", "RESET SLAVE ALL")

        # --- d. the MHA manager does not restart ------------------------------------------------------
        tr, st = blocked_run(c, stack, "d-manager", {"commands": {"manager_start": ["/bin/false"]}}, 300,
                             mode="auto")
        if tr:
            c.check(tr["from"] == "switched-back"
                    and tr["reason"].split("; suggested")[0].endswith("with /bin/false failed: exit 1"),
                    f"d: blocked after the switch, the reason names the failed manager start: {tr['reason']}")
        time.sleep(1.0)
        summary = lab.writer_stop()
        check_final_roles(c, lab)
        c.check(lab.manager_running() is None, "d: no MHA manager runs")
        c.check(not lab.failover_flag.exists(), "d: the flag was archived by the switch (MHA may fail over again)")
        check_data(c, lab)
        c.check(writer_pid > 0 and summary.get("per_server", {}).get("db1", 0) > 0 and summary.get("switches", 0) >= 1,
                f"d: the load client wrote on db2 through case c and followed the switch to db1 ({summary.get('per_server')})")
        stack.stop_daemon()
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
