"""The operators' runbook (seed/000_*.txt), step by step and verbatim, against the lab.

This is the baseline the daemon must beat: step 1 reads the new master's *current* binlog
position, so everything the new master committed between the failover and that moment never
reaches the old master, and the switch back then makes the old master primary without it. Run it
under the writer (`lab.py writer-start`) and `lab.py verify db1` shows the acknowledged rows lost.

Only what the runbook does is done, in its order; where the lab differs from the runbook's site
(password, config path, app name, `initctl start mha`) the lab's equivalent is used.
"""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path
from typing import Callable, Optional



class StepFailed(RuntimeError):
    pass


def run_runbook(lab, old_master: str = "db1", log_dir: Optional[Path] = None) -> dict:
    o, n = lab.host(old_master), lab.other(old_master)
    log_dir = log_dir or lab.path("runbook")
    log_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"old_master": o.name, "new_master": n.name, "steps": [], "ok": False}
    t_all = time.monotonic()

    def step(name: str, fn: Callable[[], str]) -> None:
        t0 = time.monotonic()
        number = len(report["steps"]) + 1
        entry = {"step": number, "name": name}
        report["steps"].append(entry)
        try:
            detail = fn()
            entry["ok"] = True
        except Exception as e:  # noqa: BLE001 - every failure ends the runbook, as for an operator
            detail = f"{type(e).__name__}: {e}"
            entry["ok"] = False
        entry["seconds"] = round(time.monotonic() - t0, 3)
        entry["detail"] = detail.strip().splitlines()[-1] if detail.strip() else ""
        (log_dir / f"{number:02d}-{name.replace(' ', '_')}.log").write_text(detail)
        if not entry["ok"]:
            raise StepFailed(name)

    coords: dict = {}

    def show_master_status() -> str:
        rows = lab.sql(n.name, "SHOW MASTER STATUS")
        coords["file"], coords["pos"] = rows[0]["File"], int(rows[0]["Position"])
        report["new_master_status"] = dict(coords)
        return f"{n.name}: File={coords['file']} Position={coords['pos']}"

    def start_old_master() -> str:
        pid = lab.start_db(o.name)
        return f"mariadbd {o.name} running (pid {pid})"

    def configure_slave() -> str:
        with closing(lab.connect(o.name)) as conn, conn.cursor() as cur:
            cur.execute("SET GLOBAL read_only = 1")
            cur.execute("SET GLOBAL sql_slave_skip_counter = 1")
            cur.execute("CHANGE MASTER TO master_host=%s, master_user=%s, master_password=%s, "
                        "master_log_file=%s, master_log_pos=%s",
                        (n.ip, "repl", lab.password("repl"), coords["file"], coords["pos"]))
            cur.execute("START SLAVE")
        time.sleep(1.0)  # the operator reads SHOW SLAVE STATUS a moment later
        s = lab.slave_status(o.name)
        keys = ("Master_Host", "Master_Log_File", "Exec_Master_Log_Pos", "Slave_IO_Running",
                "Slave_SQL_Running", "Using_Gtid", "Last_Error")
        report["slave_status"] = {k: s.get(k) for k in keys}
        text = "\n".join(f"{k}: {s.get(k)}" for k in keys)
        if s.get("Slave_IO_Running") != "Yes" or s.get("Slave_SQL_Running") != "Yes":
            raise RuntimeError(f"replication not running:\n{text}")
        return text

    def check_ssh() -> str:
        ok, _rc, out = lab.check_ssh()
        if not ok:
            raise RuntimeError(out)
        return out

    def check_repl() -> str:
        ok, rc, out = lab.check_repl()
        if not ok:
            raise RuntimeError(f"exit code {rc}\n{out}")
        return out

    def rm_flag() -> str:
        lab.failover_flag.unlink(missing_ok=True)
        return f"removed {lab.failover_flag}"

    def switch_back() -> str:
        rc, out = lab.run_tool(["/usr/bin/masterha_master_switch", "--master_state=alive",
                                f"--conf={lab.mha_conf}", f"--new_master_host={o.ip}",
                                "--orig_master_is_new_slave", "--interactive=0"], 300)
        if rc != 0:
            raise RuntimeError(f"exit code {rc}\n{out}")
        return out

    def restart_manager() -> str:
        return f"masterha_manager running (pid {lab.manager_start()})"

    try:
        step("show master status on new master", show_master_status)
        step("start old master", start_old_master)
        step("configure old master as slave", configure_slave)
        step("masterha_check_ssh", check_ssh)
        step("masterha_check_repl", check_repl)
        step("remove failover flag", rm_flag)
        step("masterha_master_switch alive", switch_back)
        step("restart manager", restart_manager)
        step("masterha_check_repl confirm", check_repl)
        report["ok"] = True
    except StepFailed as e:
        report["failed_step"] = str(e)
    report["total_seconds"] = round(time.monotonic() - t_all, 3)
    report["log_dir"] = str(log_dir)
    return report
