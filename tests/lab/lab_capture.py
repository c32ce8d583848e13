"""Captures the REAL output of the MHA 0.58 tools, run against a fresh lab, into files that the
output parsers are tested on (tests/data/mha/captured/). Every scenario is produced by the tools
themselves; the only edit is replacing the lab's generated passwords with `<password>`.

`lab.py capture --dir D --out tests/data/mha/captured` rebuilds D from scratch, runs everything
(about two minutes) and takes the lab down again. The out directory's README.md says what each
file is and how it was produced; exit_codes.json holds each tool's exit code.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import lab_mha

README = """# Real output of the MHA 0.58 tools (captured from the lab)

Produced by `python3 tests/lab/lab.py capture --dir /tmp/mhafb-capture --out tests/data/mha/captured`
on Debian 12 (MariaDB {version}, mha4mysql 0.58-1.1, OpenSSH 9.2, Perl 5.36), against the lab of
tests/lab (db1 = 127.0.0.11:3306, db2 = 127.0.0.12:3306, sshd on port 2222 of each, app `app1`,
config `<lab>/mha/app1.cnf`, workdir `<lab>/mha/work`). Captured at {when}.

Nothing was edited except the lab's generated passwords, replaced by `<password>` wherever they
appeared. Each file is the tool's combined stdout+stderr (the manager logs are the whole
`manager_log` file of that manager run). `exit_codes.json` maps each file to the tool's exit code
(absent for files that are not a tool's output). The lab directory in paths is `{labdir}`.

| file | how it was produced |
| --- | --- |
{rows}
"""


class CaptureError(RuntimeError):
    pass


def long_update(lab, save, expect) -> None:
    """The online switch refused because a statement on the master has run for 2 s or more (MHA
    counts every statement that does not start with SELECT or SHOW as an update)."""
    hold = threading.Thread(target=lambda: lab.sql("db1", "DO SLEEP(8)"))
    hold.start()
    try:
        time.sleep(2.5)
        rc, o = lab.master_switch_alive("db2")
    finally:
        hold.join()
    expect(rc != 0 and "running long updates" in o, "switch refused while an update runs long")
    save("masterha_master_switch.alive.fail-long-update.txt", o,
         "`masterha_master_switch --master_state=alive --new_master_host=127.0.0.12 ...` while a session "
         "on db1 had run `DO SLEEP(8)` for 2.5 s; nothing was changed (db1 stayed writable)", rc)


def capture(lab, out: Path) -> int:
    from lab import ACCOUNTS, LabError  # late: lab imports this module lazily

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.txt"):
        old.unlink()
    codes: dict[str, int] = {}
    rows: list[tuple[str, str]] = []
    secrets: list[str] = []

    def redact(text: str) -> str:
        for pw in secrets:
            text = text.replace(pw, "<password>")
        return text

    def save(name: str, text: str, how: str, rc: int | None = None) -> None:
        (out / name).write_text(redact(text))
        if rc is not None:
            codes[name] = rc
        rows.append((name, how))
        lab.log(f"captured {name} (rc {rc})")

    def expect(cond: bool, what: str) -> None:
        if not cond:
            raise CaptureError(f"capture scenario did not behave as expected: {what}")

    def rotate_manager_log(tag: str) -> None:
        if lab.manager_log.exists():
            lab.manager_log.rename(lab.manager_log.with_name(f"manager.log.{tag}"))

    def watch_health(stop: threading.Event, seen: dict) -> None:
        """Records each distinct health file content; runs masterha_check_status once while a
        failover is running (code 50)."""
        while not stop.is_set():
            try:
                text = lab.health_file.read_text()
            except FileNotFoundError:
                text = ""
            if text and text not in seen["contents"]:
                seen["contents"].append(text)
                h = lab_mha.parse_health(text)
                if h.get("code") == 50 and "status50" not in seen:
                    seen["status50"] = lab.check_status()
            time.sleep(0.02)

    t_start = time.monotonic()
    lab.up()
    secrets.extend(lab.password(a) for a in ACCOUNTS)
    version = lab.sql_value("db1", "SELECT VERSION()")
    conf = f"--conf={lab.mha_conf}"
    try:
        # --- healthy lab ---------------------------------------------------------------------
        ok, rc, o = lab.check_ssh()
        expect(ok, "check_ssh on a healthy lab")
        save("masterha_check_ssh.ok.txt", o, "`masterha_check_ssh --conf=...` on the healthy lab "
             "(note: exit code 255 although every test passed)", rc)
        ok, rc, o = lab.check_repl()
        expect(ok, "check_repl on a healthy lab")
        save("masterha_check_repl.ok.txt", o, "`masterha_check_repl --conf=...` on the healthy lab "
             "(db1 master, db2 GTID replica)", rc)

        # --- the two upstream bugs, with the unpatched modules ----------------------------------
        rc, o = lab.run_tool(["/usr/bin/masterha_check_repl", conf], env=lab.mha_env(perl5lib=""))
        expect("Redundant argument in sprintf" in o, "unpatched NodeUtil dies in sprintf")
        save("masterha_check_repl.unpatched-nodeutil.txt", o,
             "`masterha_check_repl` with the system's unpatched MHA modules (PERL5LIB unset): "
             "upstream bug 1, version parsing sprintf in NodeUtil.pm", rc)
        only_nodeutil = lab.path("perl5-nodeutil-only")
        lab_mha.write_fixed_modules(only_nodeutil / "MHA", fix_nodeutil=True, fix_slaveutil=False)
        db2 = lab.host("db2")
        # The node tool check_repl runs on the replica over SSH, run here with only NodeUtil fixed.
        # MHA itself passes the password in argv like this; only this capture does so.
        argv = ["/usr/bin/apply_diff_relay_logs", "--command=test", f"--slave_user={ACCOUNTS['admin']}",
                f"--slave_host={db2.ip}", f"--slave_ip={db2.ip}", f"--slave_port={db2.db_port}",
                f"--workdir={lab.path('mha', 'remote', 'db2')}", f"--target_version={version}",
                "--manager_version=0.58", f"--relay_log_info={lab.binlog_dir('db2')}/relay-log.info",
                f"--relay_dir={lab.binlog_dir('db2')}/", f"--slave_pass={lab.password('admin')}"]
        rc, o = lab.run_tool(argv, env=lab.mha_env(perl5lib=str(only_nodeutil)))
        expect("super_read_only" in o, "unpatched SlaveUtil dies on super_read_only")
        save("apply_diff_relay_logs.unpatched-slaveutil.txt", o,
             "the node tool `apply_diff_relay_logs --command=test ...` (exactly as check_repl runs it on "
             "db2 over SSH) with NodeUtil.pm fixed but SlaveUtil.pm unpatched: upstream bug 2, "
             "`SELECT @@global.super_read_only` on MariaDB", rc)

        # --- check_ssh failure ------------------------------------------------------------------
        lab.stop_sshd("db2")
        ok, rc, o = lab.check_ssh()
        expect(not ok, "check_ssh with db2's sshd stopped")
        save("masterha_check_ssh.fail-sshd-down.txt", o,
             "`masterha_check_ssh` with db2's sshd stopped (exit code 255 as on success)", rc)
        lab.start_sshd("db2")

        # --- manager status, health, switch refused while the manager runs ----------------------
        rc, o = lab.check_status()
        save("masterha_check_status.not-running.txt", o,
             "`masterha_check_status` with no manager running (and never started)", rc)
        rotate_manager_log("before-status")
        lab.manager_start()
        rc, o = lab.check_status()
        expect(rc == 0, "check_status with the manager running")
        save("masterha_check_status.running-ping-ok.txt", o,
             "`masterha_check_status` while masterha_manager monitors a healthy master", rc)
        save("health.ping-ok.txt", lab.health_file.read_text(),
             "content of `<workdir>/app1.master_status.health` while the manager monitors (PING_OK)")
        rc, o = lab.master_switch_alive("db2")
        expect(rc != 0, "switch refused while the manager runs")
        save("masterha_master_switch.alive.fail-manager-running.txt", o,
             "`masterha_master_switch --master_state=alive --new_master_host=127.0.0.12 "
             "--new_master_port=3306 --orig_master_is_new_slave --interactive=0` while masterha_manager runs", rc)
        lab.manager_stop()
        save("manager_log.monitoring-then-stopped.txt", lab.manager_log.read_text(),
             "the whole manager log of a masterha_manager run that started, monitored and was stopped "
             "with SIGTERM (no failover)")
        rc, o = lab.check_status()
        save("masterha_check_status.stopped.txt", o,
             "`masterha_check_status` after the manager was stopped", rc)

        # --- switch to the server that already is master -----------------------------------------
        rc, o = lab.master_switch_alive("db1")
        save("masterha_master_switch.alive.fail-already-master.txt", o,
             "`masterha_master_switch --master_state=alive --new_master_host=127.0.0.11 ...` while "
             "127.0.0.11 already is the master", rc)
        expect(rc != 0, "switch to the current master fails")
        ro_after = int(lab.sql_value("db1", "SELECT @@global.read_only"))
        rows[-1] = (rows[-1][0], rows[-1][1] + f"; afterwards db1 had read_only={ro_after} "
                    "(the lab set it back to 0)")
        lab.sql("db1", "SET GLOBAL read_only=0")
        ok, _, o = lab.check_repl()
        expect(ok, f"lab healthy again after the already-master switch: {o[-300:]}")

        # --- switch refused while an update runs long on the master -------------------------------
        long_update(lab, save, expect)

        # --- failover by masterha_manager ---------------------------------------------------------
        rotate_manager_log("before-failover")
        seen: dict = {"contents": []}
        stop = threading.Event()
        watcher = threading.Thread(target=watch_health, args=(stop, seen))
        lab.manager_start()
        watcher.start()
        try:
            r = lab.failover(mode="manager")
        finally:
            stop.set()
            watcher.join()
        expect(r.flag_written and r.new_master_writable and r.rc == 0, f"manager failover: {r}")
        save("manager_log.failover-ok.txt", lab.manager_log.read_text(),
             "the whole manager log of a masterha_manager run: start, monitoring, SIGKILL of db1's "
             f"mariadbd, failover to db2, exit (exit code {r.rc}, {r.seconds:.1f} s from kill to exit)", r.rc)
        for i, text in enumerate(seen["contents"]):
            name = lab_mha.parse_health(text).get("name", "unknown").lower().replace("_", "-")
            save(f"health.during-failover-{i + 1}-{name}.txt", text,
                 "content of the health file as it changed during that manager run (in order)")
        if "status50" in seen:
            rc, o = seen["status50"]
            save("masterha_check_status.failover-running.txt", o,
                 "`masterha_check_status` while that manager ran the failover", rc)
        rc, o = lab.check_status()
        save("masterha_check_status.after-failover.txt", o,
             "`masterha_check_status` after masterha_manager exited following the failover", rc)
        save("failover.complete.flag-listing.txt",
             f"{lab.failover_flag.name} size={lab.failover_flag.stat().st_size}\n",
             "not a tool output: name and size of the flag file written by the failover (it is empty)")
        ok, rc, o = lab.check_repl()
        expect(not ok, "check_repl after the failover, before any rejoin")
        save("masterha_check_repl.not-ok-after-failover.txt", o,
             "`masterha_check_repl` after the failover with db1 still dead (not rejoined)", rc)
        lab.start_db("db1", read_only=True)
        ok, rc, o = lab.check_repl()
        save("masterha_check_repl.not-ok-old-master-not-replicating.txt", o,
             "`masterha_check_repl` after the failover with db1 started again (read_only) but not replicating", rc)

        # --- rejoin and switch back ---------------------------------------------------------------
        lab.rejoin_gtid("db1")
        ok, rc, o = lab.check_repl()
        expect(ok, "check_repl after the GTID rejoin")
        save("masterha_check_repl.ok-after-rejoin.txt", o,
             "`masterha_check_repl` after db1 rejoined as a GTID replica of db2", rc)
        rc, o = lab.master_switch_alive("db1")
        expect(rc == 0, "switch back to db1")
        save("masterha_master_switch.alive.ok.txt", o,
             "`masterha_master_switch --master_state=alive --new_master_host=127.0.0.11 "
             "--new_master_port=3306 --orig_master_is_new_slave --interactive=0` (db2 -> db1)", rc)

        # --- failover by masterha_master_switch --master_state=dead -------------------------------
        lab.failover_flag.unlink(missing_ok=True)
        r = lab.failover(mode="switch")
        expect(r.flag_written and r.new_master_writable and r.rc == 0, f"switch failover: {r}")
        save("masterha_master_switch.dead.ok.txt", Path(r.log_path).read_text(),
             "`masterha_master_switch --master_state=dead --dead_master_host=127.0.0.11 "
             "--dead_master_ip=127.0.0.11 --dead_master_port=3306 --new_master_host=127.0.0.12 "
             "--new_master_port=3306 --interactive=0` after SIGKILL of db1's mariadbd", r.rc)
        lab.rejoin_gtid("db1")
        rc, o = lab.master_switch_alive("db1")
        expect(rc == 0, f"switch back to db1 after the dead-switch failover: {o[-400:]}")

        # --- failover with the dead master unreachable over SSH, diverged ---------------------------
        lab.failover_flag.unlink(missing_ok=True)
        rotate_manager_log("before-divergence")
        r = lab.failover(mode="manager", ssh_down=True, diverge_rows=3)
        expect(not r.dead_master_ssh_reachable and r.flag_written, f"ssh-unreachable failover: {r}")
        save("manager_log.failover-dead-master-ssh-unreachable.txt", lab.manager_log.read_text(),
             "the whole manager log of a masterha_manager run where db2's IO thread was stopped, 3 rows "
             "were committed on db1 only, db1's sshd was stopped and db1's mariadbd got SIGKILL: the dead "
             f"master is not SSH reachable and its extra transactions are lost (exit code {r.rc}; "
             f"db1 gtid_binlog_pos {r.diverged_gtid} vs db2 {r.new_master_gtid} before the kill)", r.rc)
    finally:
        lab.down()
    (out / "exit_codes.json").write_text(json.dumps(codes, indent=2, sort_keys=True) + "\n")
    table = "\n".join(f"| `{n}` | {h} |" for n, h in rows)
    (out / "README.md").write_text(README.format(version=version, when=time.strftime("%Y-%m-%d"),
                                                 labdir=lab.dir, rows=table))
    leaked = [p.name for p in out.iterdir() if any(pw in p.read_text(errors="replace") for pw in secrets)]
    if leaked:
        raise LabError(f"a password survived redaction in {leaked}")
    print(f"captured {len(rows)} files into {out} in {time.monotonic() - t_start:.0f} s")
    return 0
