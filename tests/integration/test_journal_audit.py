#!/usr/bin/env python3
"""Every step of a real failback is readable in journalctl with its fields (docs/JOURNAL.md).

One run on the real lab: masterha_manager fails db1 over to db2; mha-failbackd (approve mode,
private D-Bus) brings db1 back, validates it, `mha-failbackctl failback app1 --wait` switches the
master role back, and the daemon restores MHA and reports `healthy`. The daemon logs into a REAL
systemd-journald, started by this test in a private mount namespace (with_private_journald.sh
--serve; the daemon joins that namespace with nsenter, the lab and the test stay outside, nothing
under the host's /run is touched). The records are read back with `journalctl -D <dir> -o json`.

Expected:
- Every record of the daemon's process came over the native protocol with SYSLOG_IDENTIFIER
  mha-failbackd and a PRIORITY of 3..7; every audit record's MESSAGE_ID is the one docs/JOURNAL.md
  gives its AUDIT_KIND; plain log lines carry neither.
- The state transitions in the journal are exactly healthy -> degraded -> slave-rejoined ->
  validated -> switched-back -> healthy, each with the documented transition MESSAGE_ID, CLUSTER
  app1, STATE / STATE_FROM matching its MESSAGE, PRIORITY 5 (notice) and an OPERATION_ID; the
  transitions of the failback operation carry the OPERATION_ID of the operator's failback record.
- Every SQL record names its SERVER (a lab server) and has SQL and DURATION_MS; every command record
  has COMMAND, EXIT_CODE and DURATION_MS (no SERVER), every remote-command record also SERVER; the
  PRIORITY says how it ended (sql: 5 ok / 3 failed; commands: 6 exit 0 / 4 otherwise). The MHA tools
  the procedure needs (check_repl, master_switch) and db1's start over SSH are among them.
- No password of the lab (admin, repl, app) appears in any field of any record of the journal.
- `mha-failbackctl history app1`, run in the journal's namespace (default journal location), lists
  the same transitions in the same order; `mha-failbackctl watch app1` (D-Bus StateChanged signals)
  saw the same transitions with the same reasons.

Run: MHAFB_LAB_IPS=127.0.0.x,127.0.0.y MHAFB_BUILD_DIR=<build> python3 tests/integration/test_journal_audit.py
(root; needs unshare, nsenter and /lib/systemd/systemd-journald)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import (CLUSTER, Checks, Daemon, LabError, Stack, Timer, Watch,  # noqa: E402
                         _record_pid, _stop_pid, clean_env, wait_lab_addresses_free)

REPO = Path(__file__).resolve().parents[2]
WRAPPER = REPO / "tests" / "daemon" / "with_private_journald.sh"
EXPECTED = [("healthy", "degraded"), ("degraded", "slave-rejoined"), ("slave-rejoined", "validated"),
            ("validated", "switched-back"), ("switched-back", "healthy")]
IDENT = "mha-failbackd"


def documented_message_ids() -> dict[str, str]:
    """AUDIT_KIND -> MESSAGE_ID from the record-kind table of docs/JOURNAL.md."""
    text = (REPO / "docs" / "JOURNAL.md").read_text()
    return dict(re.findall(r"^\| `([a-z-]+)` \| `([0-9a-f]{32})` \|", text, re.M))


def field_text(value) -> str:
    """A journal JSON value as text: strings as they are, byte arrays decoded, lists joined."""
    if value is None:
        return ""
    if isinstance(value, list):
        if all(isinstance(v, int) for v in value):
            return bytes(value).decode("utf-8", "replace")
        return "\n".join(field_text(v) for v in value)
    return str(value)


class PrivateJournald:
    """systemd-journald in a mount namespace of its own; its files land in `dir`/journal."""

    def __init__(self, workdir: Path):
        self.dir = workdir / "journald"
        self.dir.mkdir(parents=True)
        self.workdir = workdir
        self.proc: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()
        self._records: list[dict] = []
        self._cursor = ""
        self._read_at = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(["/usr/bin/unshare", "--mount", "--propagation", "private", str(WRAPPER),
                                      "--serve", str(self.dir)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env(),
                                     start_new_session=True)
        _record_pid(self.workdir / "run", "journald", self.proc.pid)
        # The socket exists only inside its namespace; /proc/PID/root looks in there.
        sock = Path(f"/proc/{self.proc.pid}/root/run/systemd/journal/socket")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"systemd-journald exited with {self.proc.returncode} at start")
            if sock.is_socket() and list(self.dir.glob("journal/*/system.journal")):
                return
            time.sleep(0.05)
        raise LabError(f"systemd-journald did not create its socket within {timeout:.0f} s")

    def in_namespace(self, argv: list[str]) -> list[str]:
        """argv run inside the journal's mount namespace (nsenter execs it: same PID)."""
        return ["/usr/bin/nsenter", "-t", str(self.pid), "-m", "--", *argv]

    def records(self, max_age: float = 0.0) -> list[dict]:
        """Every record so far, oldest first (read incrementally after the last cursor)."""
        with self._lock:
            if max_age and time.monotonic() - self._read_at < max_age:
                return list(self._records)
            argv = ["journalctl", "--no-pager", "-o", "json", "-D", str(self.dir / "journal")]
            if self._cursor:
                argv.append("--after-cursor=" + self._cursor)
            r = subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=60)
            if r.returncode == 0:
                for line in r.stdout.splitlines():
                    if line.strip():
                        rec = json.loads(line)
                        self._records.append(rec)
                        self._cursor = rec.get("__CURSOR", self._cursor)
            self._read_at = time.monotonic()
            return list(self._records)

    def stop(self) -> Optional[int]:
        if self.proc is None:
            return None
        rc = _stop_pid(self.proc, 20)
        (self.workdir / "run" / "journald.pid").unlink(missing_ok=True)
        return rc


class JournalDaemon(Daemon):
    """mha-failbackd inside the journal's namespace: its records go to journald, and the test reads
    them from there (the e2e Daemon reads its stderr fallback instead)."""

    def __init__(self, journald: PrivateJournald, *args):
        super().__init__(*args)
        self.journald = journald

    def argv(self) -> list[str]:
        return self.journald.in_namespace([str(self.bin), "--config", str(self.config), "--bus", self.bus])

    def own_records(self, max_age: float = 0.25) -> list[dict]:
        if self.proc is None:
            return []
        pid = str(self.proc.pid)
        return [r for r in self.journald.records(max_age) if r.get("_PID") == pid]

    def text(self) -> str:
        lines = [f"{r.get('PRIORITY')} {field_text(r.get('SYSLOG_IDENTIFIER'))}: {field_text(r.get('MESSAGE'))}"
                 for r in self.own_records()]
        return super().text() + "\n".join(lines) + "\n"

    def audit(self) -> list[dict]:
        out = []
        for r in self.own_records():
            if "MESSAGE_ID" in r:
                rec = {k: field_text(v) for k, v in r.items()}
                rec["level"], rec["message"] = rec.get("PRIORITY", ""), rec.get("MESSAGE", "")
                out.append(rec)
        return out


def start_daemon(stack: Stack, journald: PrivateJournald) -> JournalDaemon:
    stack.start_bus()
    cfg = stack.lab.write_daemon_config(stack.work / "mha-failback.json", mode="approve", stable_seconds=2,
                                        state_dir=stack.state_dir)
    d = JournalDaemon(journald, stack.work, stack.daemon_bin, cfg, stack.bus.address)
    stack.daemon = d
    stack.daemons.append(d)
    d.start()
    stack.remember(d.proc.pid)
    stack.watch = Watch(stack.work, stack.ctl_bin, stack.bus.address)
    stack.watches.append(stack.watch)
    stack.remember(stack.watch.proc.pid)
    return d


def run_failback(c: Checks, stack: Stack) -> bool:
    lab = stack.lab
    st = stack.wait_status(lambda s: s.get("state") == "healthy", 30)
    if not c.check(st is not None, f"daemon up, cluster healthy: {st and st.get('status')}"):
        return False
    lab.manager_start()
    fo = lab.failover(mode="manager")
    c.timing("MHA failover (SIGKILL of db1 -> manager exit)", fo.seconds)
    if not c.check(fo.rc == 0 and fo.flag_written and fo.new_master_writable,
                   f"masterha_manager failed db1 over to db2 (rc {fo.rc}, flag written {fo.flag_written})"):
        return False
    with Timer(c, "failover -> validated"):
        tr = stack.wait_state("validated", 180)
    if not c.check(tr is not None, "the daemon validated the rejoined db1"):
        return False
    with Timer(c, "mha-failbackctl failback --wait"):
        r = stack.ctl.run("failback", CLUSTER, "--wait", "--reason", "journal audit test", timeout=300)
    c.check(r.returncode == 0, f"failback --wait exit {r.returncode}: {(r.stdout + r.stderr).strip()[-300:]}")
    with Timer(c, "switched-back -> healthy"):
        tr = stack.wait_state("healthy", 180)
    return c.check(tr is not None, f"healthy: {tr and tr['reason']}")


def check_identity(c: Checks, recs: list[dict], daemon_pid: str) -> None:
    ours = [r for r in recs if r.get("_PID") == daemon_pid]
    c.check(len(ours) > 20, f"the daemon's process wrote {len(ours)} records to the journal")
    bad_ident = [r.get("MESSAGE") for r in ours if r.get("SYSLOG_IDENTIFIER") != IDENT]
    c.check(not bad_ident, f"every record of the daemon has SYSLOG_IDENTIFIER={IDENT} (not: {bad_ident[:3]})")
    bad_transport = {r.get("_TRANSPORT") for r in ours} - {"journal"}
    c.check(not bad_transport, f"every record came over the native journal protocol (also: {bad_transport})")
    bad_prio = [(r.get("PRIORITY"), r.get("MESSAGE")) for r in ours if r.get("PRIORITY") not in ("3", "4", "5", "6", "7")]
    c.check(not bad_prio, f"every PRIORITY is 3..7 (not: {bad_prio[:3]})")
    strangers = [r.get("_PID") for r in recs if r.get("SYSLOG_IDENTIFIER") == IDENT and r.get("_PID") != daemon_pid]
    c.check(not strangers, f"no other process logged as {IDENT} ({strangers[:3]})")
    ids = documented_message_ids()
    c.check(len(ids) == 12, f"docs/JOURNAL.md documents 12 record kinds: {sorted(ids)}")
    wrong = [(r.get("AUDIT_KIND"), r.get("MESSAGE_ID")) for r in ours
             if ("MESSAGE_ID" in r or "AUDIT_KIND" in r) and ids.get(r.get("AUDIT_KIND", "")) != r.get("MESSAGE_ID")]
    c.check(not wrong, f"every audit record's MESSAGE_ID is the documented one of its AUDIT_KIND (not: {wrong[:3]})")
    plain = [r for r in ours if "MESSAGE_ID" not in r]
    messages = [r.get("MESSAGE", "") for r in plain]
    c.check(any(m.startswith("ready: ") for m in messages) and messages[-1:] == ["stopped"],
            f"the daemon's plain log lines (ready ... stopped) are journal records too: {messages[:2]} ... {messages[-1:]}")


def check_transitions(c: Checks, recs: list[dict]) -> list[dict]:
    ids = documented_message_ids()
    trs = [r for r in recs if r.get("AUDIT_KIND") in ("transition", "blocked")]
    pairs = [(r.get("STATE_FROM"), r.get("STATE")) for r in trs]
    c.check(pairs == EXPECTED, f"the journal's transitions: {pairs}")
    for r in trs:
        what = f"{r.get('STATE_FROM')} -> {r.get('STATE')}"
        missing = [f for f in ("MESSAGE_ID", "CLUSTER", "STATE", "STATE_FROM", "OPERATION_ID") if not r.get(f)]
        c.check(not missing, f"transition {what} has MESSAGE_ID, CLUSTER, STATE, STATE_FROM, OPERATION_ID"
                + (f" (missing: {missing})" if missing else f" (operation {r.get('OPERATION_ID')})"))
        c.check(r.get("MESSAGE_ID") == ids.get("transition") and r.get("CLUSTER") == CLUSTER
                and r.get("PRIORITY") == "5" and r.get("MESSAGE", "").startswith(what + ": "),
                f"transition {what}: documented MESSAGE_ID, CLUSTER={CLUSTER}, PRIORITY 5, MESSAGE "
                f"'{r.get('MESSAGE', '')[:70]}'")
    # The operator's failback is one operation: its record and the switch's transitions share the id.
    approved = [r for r in recs if r.get("AUDIT_KIND") == "operation" and "failback approved" in r.get("MESSAGE", "")]
    op = approved[0].get("OPERATION_ID", "") if approved else ""
    c.check(len(approved) == 1 and bool(op), f"one 'failback approved' operation record with an OPERATION_ID ({op})")
    in_op = [(r.get("STATE_FROM"), r.get("STATE"), r.get("OPERATION_ID", "")) for r in trs
             if r.get("STATE_FROM") in ("validated", "switched-back")]
    c.check(bool(in_op) and all(o == op for _, _, o in in_op),
            f"the failback's transitions carry its OPERATION_ID {op}: {in_op}")
    steps = [r for r in recs if r.get("AUDIT_KIND") in ("step-started", "step-finished")
             and r.get("STEP") in ("switch-back", "restore")]
    c.check(bool(steps) and all(r.get("OPERATION_ID") == op for r in steps),
            f"the switch-back and restore step records carry it too ({len(steps)} records)")
    return trs


def is_int(v: Optional[str]) -> bool:
    return v is not None and re.fullmatch(r"\d+", v) is not None


def meaningless(r: dict) -> bool:
    """A tool whose exit code means nothing (masterha_check_ssh) is recorded as such, at info."""
    return "(not meaningful: judged by its output)" in r.get("MESSAGE", "")


def check_side_effects(c: Checks, recs: list[dict], db1: str, db2: str) -> None:
    servers = {db1, db2}
    sql = [r for r in recs if r.get("AUDIT_KIND") == "sql"]
    c.check(len(sql) >= 3, f"{len(sql)} SQL records")
    bad = [r.get("MESSAGE") for r in sql
           if r.get("SERVER") not in servers or not r.get("SQL") or not is_int(r.get("DURATION_MS"))
           or r.get("CLUSTER") != CLUSTER or r.get("PRIORITY") != ("3" if r.get("ERROR") else "5")
           or not r.get("MESSAGE", "").endswith(r.get("SQL", "\0"))]
    c.check(not bad, f"every SQL record has SERVER (one of {sorted(servers)}), SQL, DURATION_MS, CLUSTER and "
            f"its PRIORITY (not: {bad[:3]})")
    c.check(any(r.get("SERVER") == db1 and "CHANGE MASTER" in r.get("SQL", "") for r in sql),
            f"the rejoin's statements are among them: {[r.get('SQL', '')[:50] for r in sql][:8]}")

    cmds = [r for r in recs if r.get("AUDIT_KIND") == "command"]
    bad = [r.get("MESSAGE") for r in cmds
           if not r.get("COMMAND") or not is_int(r.get("EXIT_CODE")) or not is_int(r.get("DURATION_MS"))
           or r.get("SERVER") or r.get("PRIORITY") != ("6" if r.get("EXIT_CODE") == "0" or meaningless(r) else "4")]
    c.check(bool(cmds) and not bad, f"every command record ({len(cmds)}) has COMMAND, EXIT_CODE, DURATION_MS, no "
            f"SERVER, and PRIORITY 6 on exit 0 (or an exit code marked not meaningful) else 4 (not: {bad[:3]})")
    ssh = [r for r in cmds if "masterha_check_ssh" in r.get("COMMAND", "")]
    c.check(bool(ssh) and all(meaningless(r) and r.get("EXIT_CODE") == "255" for r in ssh),
            "masterha_check_ssh's exit 255 is recorded as not meaningful (it is judged by its text): "
            f"{[r.get('MESSAGE', '')[-70:] for r in ssh]}")
    names = " ".join(r.get("COMMAND", "") for r in cmds)
    c.check("masterha_check_repl" in names and "masterha_master_switch" in names and "manager-start" in names,
            "check_repl, master_switch and the manager's start are command records")
    repl = [int(r["DURATION_MS"]) for r in cmds if "masterha_check_repl" in r.get("COMMAND", "") and is_int(r.get("DURATION_MS"))]
    c.check(bool(repl) and min(repl) >= 500, f"DURATION_MS is real: masterha_check_repl took {repl} ms")

    remote = [r for r in recs if r.get("AUDIT_KIND") == "remote-command"]
    bad = [r.get("MESSAGE") for r in remote
           if r.get("SERVER") not in servers or not r.get("COMMAND") or not is_int(r.get("EXIT_CODE"))
           or not is_int(r.get("DURATION_MS")) or r.get("PRIORITY") != ("6" if r.get("EXIT_CODE") == "0" else "4")]
    c.check(bool(remote) and not bad, f"every remote-command record ({len(remote)}) has SERVER, COMMAND, EXIT_CODE, "
            f"DURATION_MS and its PRIORITY (not: {bad[:3]})")
    c.check(any("start-db" in r.get("COMMAND", "") and r.get("EXIT_CODE") == "0" for r in remote),
            f"db1's database start over SSH is recorded with exit 0: {[r.get('MESSAGE', '')[:80] for r in remote]}")


def check_no_secret(c: Checks, recs: list[dict], passwords: dict[str, str]) -> None:
    leaks = []
    for r in recs:
        for k, v in r.items():
            text = field_text(v)
            for account, pw in passwords.items():
                if pw and pw in text:
                    leaks.append(f"{account} in {k} of '{field_text(r.get('MESSAGE'))[:60]}'")
    c.check(len(passwords) == 3 and all(len(p) >= 8 for p in passwords.values()),
            f"the lab's passwords are known ({sorted(passwords)})")
    c.check(not leaks, f"no password in any field of the {len(recs)} records of the journal (leaks: {leaks[:3]})")


def check_views(c: Checks, stack: Stack, trs: list[dict], history: subprocess.CompletedProcess) -> None:
    c.check(history.returncode == 0, f"mha-failbackctl history exit {history.returncode}: {history.stderr.strip()[:200]}")
    shown = re.findall(r"  (?:transition|blocked)  (\S+) -> (\S+)  ", history.stdout)
    c.check(shown == EXPECTED, f"mha-failbackctl history app1 lists the same transitions: {shown}")
    lines = [l for l in history.stdout.splitlines() if re.search(r"  (?:transition|blocked)  ", l)]
    c.check(len(lines) == len(trs) and all(l.endswith(r.get("MESSAGE", "")) for l, r in zip(lines, trs)),
            "... with the journal's MESSAGEs")
    journal = [(r.get("STATE_FROM"), r.get("STATE"), r.get("MESSAGE", "").split(": ", 1)[-1]) for r in trs]
    watched = [(w["from"], w["to"], w["reason"]) for w in stack.watched_transitions()]
    c.check(watched == journal, f"mha-failbackctl watch saw the same transitions and reasons: "
            f"{[(f, t) for f, t, _ in watched]}")
    sf = stack.state_file()
    c.check(sf.get("state") == "healthy", f"the persisted state says healthy ({sf.get('state')})")


def main() -> int:
    c = Checks("test_journal_audit")
    stack = Stack("journal", c)
    journald = PrivateJournald(stack.work)
    try:
        wait_lab_addresses_free(c)
        with Timer(c, "lab up"):
            stack.lab.up(check_mha=False)  # the daemon runs MHA's checks itself while validating
        stack._remember_lab_pids()
        journald.start()
        stack.remember(journald.pid)
        daemon = start_daemon(stack, journald)
        if run_failback(c, stack):
            history = subprocess.run(journald.in_namespace([str(stack.ctl_bin), "history", CLUSTER, "-n", "5000"]),
                                     capture_output=True, text=True, env=clean_env(), timeout=60)
            stack.stop_daemon()
            time.sleep(0.2)
            recs = journald.records()
            pid = str(daemon.proc.pid)
            ours = [r for r in recs if r.get("_PID") == pid]
            check_identity(c, recs, pid)
            trs = check_transitions(c, ours)
            check_side_effects(c, ours, stack.lab.host("db1").ip, stack.lab.host("db2").ip)
            check_no_secret(c, recs, {a: stack.lab.password(a) for a in ("admin", "repl", "app")})
            check_views(c, stack, trs, history)
            kinds: dict[str, int] = {}
            for r in ours:
                kinds[r.get("AUDIT_KIND", "log")] = kinds.get(r.get("AUDIT_KIND", "log"), 0) + 1
            c.note(f"records of the daemon by kind: {kinds}")
    except Exception as e:  # noqa: BLE001 - report, then clean up
        import traceback
        traceback.print_exc()
        c.check(False, f"unexpected error: {e}")
    finally:
        if c.failed:
            stack.failure_context()
        for w in stack.watches:
            w.stop()
        for d in stack.daemons:
            d.stop()
        rc = journald.stop()
        c.check(rc == 0, f"systemd-journald stopped on SIGTERM (exit {rc})")
        stack.stop()
        for p in ("/run/systemd/journal", "/run/log/journal"):
            c.check(not os.path.exists(p), f"the host's {p} was never created")
    return c.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
