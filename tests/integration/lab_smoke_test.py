#!/usr/bin/env python3
"""Smoke test of the lab itself: up, replication facts, a real masterha_manager failover under
the writer, the remote start-db command over the lab's sshd, down. Every assertion is a fact read
back from the real servers, sshds and MHA tools, so the daemon's integration tests can rely on
the lab. Prints step timings (up, failover, down) for the record; no timing is asserted.

Run: python3 tests/integration/lab_smoke_test.py   (root; uses 127.0.0.11/12 or MHAFB_LAB_IPS, ports 3306/2222)
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

import pymysql  # noqa: E402  (lab.py makes Debian's python3-pymysql importable)
from lab import ACCOUNTS, HOSTS, Lab  # noqa: E402
import lab_proc  # noqa: E402

passed: list[str] = []
failed: list[str] = []


def check(cond: bool, what: str) -> None:
    (passed if cond else failed).append(what)
    print(("ok   - " if cond else "FAIL - ") + what, flush=True)


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="mhafb-lab-smoke-", dir="/tmp"))
    lab = Lab(base / "lab", verbose=bool(os.environ.get("MHAFB_LAB_VERBOSE")))
    pids: dict[str, int] = {}
    try:
        t0 = time.monotonic()
        timings = lab.up()  # raises unless masterha_check_ssh and masterha_check_repl pass
        t_up = time.monotonic() - t0
        check(True, "up: masterha_check_ssh passed and masterha_check_repl says OK")
        procs = lab.processes()
        pids = {k: v for k, v in procs.items() if v}
        check(all(procs[n] for n in ("db1", "db2", "sshd-db1", "sshd-db2")), f"all four daemons run: {procs}")
        for h in HOSTS:
            check(lab_proc.tcp_open(h.ip, h.db_port) and lab_proc.tcp_open(h.ip, h.ssh_port),
                  f"{h.name} listens on {h.ip}:{h.db_port} and :{h.ssh_port}")

        # --- secrets -------------------------------------------------------------------------
        pwds = [lab.password(a) for a in ACCOUNTS]
        check(all(stat.S_IMODE(lab.secret_file(a).stat().st_mode) == 0o600 for a in ACCOUNTS)
              and stat.S_IMODE(lab.mha_conf.stat().st_mode) == 0o600, "password files and MHA config are 0600")
        argvs = [Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace") for p in pids.values()]
        check(not any(pw in a for pw in pwds for a in argvs), "no password in any lab process's argv")

        # --- replication facts ---------------------------------------------------------------
        check(lab.sql_value("db1", "SELECT @@server_id") == 1 and lab.sql_value("db2", "SELECT @@server_id") == 2,
              "server_id 1 and 2")
        check(lab.is_writable("db1") and not lab.is_writable("db2"), "db1 writable, db2 read_only=1")
        s = lab.slave_status("db2")
        check(s.get("Master_Host") == HOSTS[0].ip and s.get("Slave_IO_Running") == "Yes"
              and s.get("Slave_SQL_Running") == "Yes" and s.get("Using_Gtid") == "Slave_Pos",
              f"db2 replicates from db1 with GTID ({s.get('Using_Gtid')})")
        lab.sql("db1", "INSERT INTO lab.writes (id, written_to) VALUES (900000001, 'smoke')", account="app")
        lab.wait_replica_synced("db2", "db1", 20)
        check(lab.sql_value("db2", "SELECT COUNT(*) FROM lab.writes WHERE id=900000001") == 1,
              "a row the app wrote on db1 is on db2")
        try:
            lab.sql("db2", "INSERT INTO lab.writes (id, written_to) VALUES (900000002, 'smoke')", account="app")
            check(False, "app cannot write on read_only db2")
        except pymysql.err.MySQLError as e:
            check(e.args[0] == 1290, f"app cannot write on read_only db2 (error {e.args[0]})")
        lab.sql("db1", "DELETE FROM lab.writes WHERE id=900000001", account="app")

        # --- failover by masterha_manager under the writer ------------------------------------
        pids["writer"] = lab.writer_start()
        pids["manager"] = lab.manager_start()
        time.sleep(1.0)
        fo = lab.failover(mode="manager")
        time.sleep(1.0)
        summary = lab.writer_stop()
        check(fo.rc == 0 and fo.completed_text, f"masterha_manager exited 0 after 'completed successfully' (rc {fo.rc})")
        check(fo.flag_written, f"{lab.failover_flag.name} written by the failover")
        check(fo.new_master_writable and fo.dead_master_ssh_reachable, "db2 writable after the failover")
        check(lab.db_running("db1") is None and lab.manager_running() is None, "db1 dead, manager exited")
        check(summary.get("acked", 0) > 50 and summary.get("per_server", {}).get("db2", 0) > 0,
              f"writer wrote to db1 then followed the master to db2: {summary.get('per_server')}")
        v = lab.verify("db2")
        check(v["missing"] == 0, f"every acknowledged id is on db2 ({v['acked']} acked, {v['missing']} missing)")

        # --- the daemon's remote start command, over the lab's sshd -----------------------------
        r = subprocess.run(lab.ssh_argv("db1", str(lab.bin("start-db")), "db1", "--read-only"),
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0 and lab.db_running("db1") is not None, f"bin/start-db over SSH: {r.stdout.strip()}")
        check(not lab.is_writable("db1"), "db1 came back read_only as asked")
        pids.update({k: v for k, v in lab.processes().items() if v})

        # --- down ------------------------------------------------------------------------------
        t1 = time.monotonic()
        lab.down()
        t_down = time.monotonic() - t1
        check(not any(lab_proc.alive(p) for p in pids.values()), f"down: none of {sorted(pids.values())} runs")
        check(not any(lab_proc.tcp_open(h.ip, port) for h in HOSTS for port in (h.db_port, h.ssh_port)),
              "down: nothing listens on the lab's addresses")
        print(f"timings: up {t_up:.2f} s ({', '.join(f'{k} {v:.2f}' for k, v in timings.items())}), "
              f"failover (kill -> manager exit) {fo.seconds:.2f} s, down {t_down:.2f} s; writer longest gap "
              f"{summary.get('longest_gap_ms')} ms, rejected {summary.get('rejected')}")
    except Exception as e:  # noqa: BLE001 - report, then clean up
        import traceback
        traceback.print_exc()
        check(False, f"unexpected error: {e}")
    finally:
        lab.down()
        shutil.rmtree(base, ignore_errors=True)
    check(not base.exists(), "lab directory removed")
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
