#!/usr/bin/env python3
"""Shared machinery of the end-to-end tests (tests/integration/test_*.py) and of scripts/demo.sh.

Everything here drives REAL components: the lab (tests/lab: two mariadbd, two sshd, MHA 0.58), a
private dbus-daemon started for the test, the real mha-failbackd and mha-failbackctl from the build
directory in $MHAFB_BUILD_DIR. Every process started here is recorded with its PID (in
<workdir>/run/*.pid, so a shell trap can stop them too) and stopped by that PID; `Stack.stop()`
leaves nothing running.

What a test reads back, it reads from the real world: roles and data from the servers, states from
`mha-failbackctl watch` (StateChanged signals, time-stamped on arrival), the daemon's audit records
from its stderr (the journal writer's fallback when no journald listens), the persisted state file.

Run as a script it is the main-job demo (`python3 e2e_support.py demo --build-dir DIR`), which is
what scripts/demo.sh runs after building.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lab"))

from lab import HOSTS, Lab, LabError  # noqa: E402  (first: it makes Debian's python3-pymysql importable)
import pymysql  # noqa: E402
import lab_proc  # noqa: E402
from lab_writer import read_acks  # noqa: E402

CLUSTER = "app1"
DB1, DB2 = HOSTS[0].ip, HOSTS[1].ip  # db1 / db2 of this lab (127.0.0.11/12 unless MHAFB_LAB_IPS)
STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
JOURNAL_SOCKET = Path("/run/systemd/journal/socket")


# ---- results ------------------------------------------------------------------------------------

class Checks:
    """Assertions that are printed as they are made; the test's exit code is 1 if any failed."""

    def __init__(self, name: str):
        self.name = name
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.timings: list[tuple[str, float]] = []
        self.notes: list[str] = []
        self.t0 = time.monotonic()

    def check(self, cond: bool, what: str) -> bool:
        (self.passed if cond else self.failed).append(what)
        print(("ok   - " if cond else "FAIL - ") + what, flush=True)
        return bool(cond)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"# {text}", flush=True)

    def timing(self, phase: str, seconds: float) -> None:
        self.timings.append((phase, seconds))
        print(f"# time: {phase}: {seconds:.1f} s", flush=True)

    def finish(self) -> int:
        total = time.monotonic() - self.t0
        print(f"# {self.name}: timings: " + ", ".join(f"{p} {s:.1f} s" for p, s in self.timings)
              + f"; total {total:.1f} s", flush=True)
        print(f"{self.name}: {len(self.passed)} passed, {len(self.failed)} failed", flush=True)
        for f in self.failed:
            print(f"  failed: {f}", flush=True)
        return 1 if self.failed else 0


class Timer:
    def __init__(self, checks: Checks, phase: str):
        self.checks, self.phase = checks, phase

    def __enter__(self):
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.t0
        self.checks.timing(self.phase, self.seconds)


# ---- binaries -----------------------------------------------------------------------------------

def build_dir() -> Path:
    return Path(os.environ.get("MHAFB_BUILD_DIR") or REPO / "build").absolute()


def binaries(build: Optional[Path] = None) -> tuple[Path, Path]:
    b = build or build_dir()
    daemon, ctl = b / "daemon" / "mha-failbackd", b / "daemon" / "mha-failbackctl"
    for p in (daemon, ctl):
        if not os.access(p, os.X_OK):
            raise LabError(f"{p} is not built (set MHAFB_BUILD_DIR to a build directory holding it)")
    return daemon, ctl


def clean_env() -> dict[str, str]:
    # No NOTIFY_SOCKET, no DBUS_* of the caller: the daemon talks only to the test's private bus.
    return {"PATH": STD_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}


def _record_pid(run_dir: Path, name: str, pid: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    lab_proc.write_pid(run_dir / f"{name}.pid", pid)


def _stop_pid(proc: subprocess.Popen, timeout: float = 30.0, sig: int = signal.SIGTERM) -> Optional[int]:
    """Stops one child by its PID (its own process group, created at spawn); returns its exit code."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
    return proc.returncode


# ---- the private bus ----------------------------------------------------------------------------

class PrivateBus:
    """A dbus-daemon of our own (session configuration, socket in the work dir)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc: Optional[subprocess.Popen] = None
        self.address = ""

    def start(self) -> str:
        sock = self.workdir / "bus.sock"
        self.proc = subprocess.Popen(
            ["/usr/bin/dbus-daemon", "--session", "--nofork", f"--address=unix:path={sock}", "--print-address=1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=clean_env(),
            start_new_session=True, text=True)
        _record_pid(self.workdir / "run", "dbus-daemon", self.proc.pid)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("unix:"):
            _stop_pid(self.proc)
            raise LabError(f"dbus-daemon did not print its address (got {line!r})")
        self.address = line
        return line

    def stop(self) -> None:
        if self.proc:
            _stop_pid(self.proc, 10)
            if self.proc.stdout:
                self.proc.stdout.close()
            (self.workdir / "run" / "dbus-daemon.pid").unlink(missing_ok=True)


# ---- the daemon ---------------------------------------------------------------------------------

_FIELD = re.compile(r'([A-Z][A-Z0-9_]*)=("(?:[^"\\]|\\.)*"|\S+)')


def parse_audit_line(line: str) -> Optional[dict]:
    """One stderr line of the journal writer's fallback: "<level> mha-failbackd: MESSAGE K=V ...".
    Returns {"level", "message", fields...} for audit records (they carry MESSAGE_ID), else None."""
    m = re.match(r"^(\w+) mha-failbackd: (.*)$", line)
    if not m:
        return None
    rest = m.group(2)
    at = rest.find(" MESSAGE_ID=")
    if at < 0:
        return None
    rec = {"level": m.group(1), "message": rest[:at]}
    for k, v in _FIELD.findall(rest[at:]):
        if v.startswith('"'):
            v = bytes(v[1:-1], "utf-8").decode("unicode_escape")
        rec[k] = v
    return rec


def switch_refusals(records: list[dict]) -> int:
    """Runs of masterha_master_switch that MHA refused in its checks (a long update on the master),
    which the daemon verified changed nothing and retried (see lib/steps/switch_back.cpp): never a
    switch, so tests counting switches leave them out."""
    return sum(1 for r in records if r.get("AUDIT_KIND") == "step-finished"
               and "masterha_master_switch refused to start" in r.get("message", "")
               and "it changed nothing" in r.get("message", ""))


class Daemon:
    """mha-failbackd on the private bus; stdout+stderr to <workdir>/daemon-N.log."""

    counter = 0

    def __init__(self, workdir: Path, daemon_bin: Path, config: Path, bus: str):
        Daemon.counter += 1
        self.workdir, self.bin, self.config, self.bus = workdir, daemon_bin, config, bus
        self.log = workdir / f"daemon-{Daemon.counter}.log"
        self.proc: Optional[subprocess.Popen] = None
        self.exit_code: Optional[int] = None
        self._transitions: list[dict] = []
        self._lock = threading.Lock()
        self._stop_polling = threading.Event()
        self._poller: Optional[threading.Thread] = None

    def argv(self) -> list[str]:
        argv = [str(self.bin), "--config", str(self.config), "--bus", self.bus]
        if JOURNAL_SOCKET.exists():
            # A journald listens here: run the daemon in a mount namespace that hides its socket,
            # so the audit records come to stderr where the test reads them.
            argv = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    'mount -t tmpfs tmpfs /run/systemd/journal && exec "$0" "$@"', *argv]
        return argv

    def start(self, ready_timeout: float = 60.0) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True)
        _record_pid(self.workdir / "run", "mha-failbackd", self.proc.pid)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"mha-failbackd exited with {self.proc.returncode} at start:\n{self.tail(30)}")
            if " ready: " in self.text():
                # Stamps every transition within 0.1 s of the daemon writing it, whatever the test
                # is busy with meanwhile.
                self._poller = threading.Thread(target=self._poll_loop, daemon=True)
                self._poller.start()
                return
            time.sleep(0.1)
        raise LabError(f"mha-failbackd not ready after {ready_timeout:.0f} s:\n{self.tail(30)}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 120.0) -> Optional[int]:
        """SIGTERM: the daemon finishes the step in flight and exits 0."""
        if self.proc is not None:
            self.exit_code = _stop_pid(self.proc, timeout)
            (self.workdir / "run" / "mha-failbackd.pid").unlink(missing_ok=True)
        self._stop_polling.set()
        if self._poller:
            self._poller.join(5)
        self.poll_transitions()
        return self.exit_code

    def _poll_loop(self) -> None:
        while not self._stop_polling.wait(0.1):
            self.poll_transitions()

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-n:])

    def audit(self) -> list[dict]:
        return [r for r in (parse_audit_line(line) for line in self.text().splitlines()) if r]

    def poll_transitions(self) -> list[dict]:
        """State changes from the audit records (transition and blocked), each stamped with the
        monotonic and wall time at which this method first saw it."""
        recs = [r for r in self.audit() if r.get("AUDIT_KIND") in ("transition", "blocked") and r.get("STATE_FROM")]
        with self._lock:
            now_m, now_e = time.monotonic(), time.time()
            for r in recs[len(self._transitions):]:
                m = re.match(r"^(\S+) -> (\S+): (.*)$", r["message"])
                reason = m.group(3) if m else r["message"]
                self._transitions.append({"t": now_m, "epoch": now_e, "from": r["STATE_FROM"],
                                          "to": r.get("STATE", ""), "reason": reason, "step": r.get("STEP", "")})
            return list(self._transitions)


class Ctl:
    def __init__(self, ctl_bin: Path, bus: str):
        self.bin, self.bus = ctl_bin, bus

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin), "--bus", self.bus, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, env=clean_env())

    def status(self) -> dict:
        r = self.run("status", "--json", timeout=60)
        if r.returncode != 0:
            raise LabError(f"mha-failbackctl status failed ({r.returncode}): {r.stderr.strip()}")
        for row in json.loads(r.stdout):
            if row.get("name") == CLUSTER:
                return row
        raise LabError(f"cluster {CLUSTER} not in mha-failbackctl status: {r.stdout}")


class Watch:
    """`mha-failbackctl watch app1` in the background; every line time-stamped on arrival."""

    _STATE = re.compile(r" state (\S+) -> (\S+): (.*)$")

    def __init__(self, workdir: Path, ctl_bin: Path, bus: str):
        self.lines: list[tuple[float, float, str]] = []  # (monotonic, epoch, text)
        self.log = workdir / "watch.log"
        self._lock = threading.Lock()
        self.proc = subprocess.Popen([str(ctl_bin), "--bus", bus, "watch", CLUSTER], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     env=clean_env(), start_new_session=True)
        _record_pid(workdir / "run", "watch", self.proc.pid)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self.workdir = workdir
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("Watching" in t for _, _, t in self.snapshot()):
            if self.proc.poll() is not None:
                raise LabError(f"mha-failbackctl watch exited: {self.snapshot()}")
            time.sleep(0.05)

    def _read(self) -> None:
        with open(self.log, "a") as log:
            for line in self.proc.stdout:
                line = line.rstrip("\n")
                with self._lock:
                    self.lines.append((time.monotonic(), time.time(), line))
                log.write(line + "\n")
                log.flush()

    def snapshot(self) -> list[tuple[float, float, str]]:
        with self._lock:
            return list(self.lines)

    def transitions(self) -> list[dict]:
        out = []
        for mono, epoch, text in self.snapshot():
            m = self._STATE.search(text)
            if m:
                out.append({"t": mono, "epoch": epoch, "from": m.group(1), "to": m.group(2),
                            "reason": m.group(3)})
        return out

    def statuses(self) -> list[tuple[float, str]]:
        """(monotonic time, sentence) of every Status property change (the decision sentences)."""
        out = []
        for mono, _, text in self.snapshot():
            m = re.search(rf" {CLUSTER}: Status = (.*)$", text)
            if m:
                out.append((mono, m.group(1)))
        return out

    def stop(self) -> None:
        _stop_pid(self.proc, 10)
        self._thread.join(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        (self.workdir / "run" / "watch.pid").unlink(missing_ok=True)


def processes_mentioning(marker: str) -> list[str]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and lab_proc.alive(int(entry), marker):
            out.append(f"{entry} {lab_proc._cmdline(int(entry))[:120]}")
    return out


def wait_lab_addresses_free(checks: Checks, timeout: float = float(os.environ.get("MHAFB_E2E_WAIT_FREE", "900"))) -> None:
    """Only one lab fits on one address pair (127.0.0.11/12 or MHAFB_LAB_IPS). CTest serializes its tests (RESOURCE_LOCK); a test run by
    hand beside another lab waits for it instead of failing on a taken port."""
    def busy() -> list[str]:
        return [f"{h.ip}:{port}" for h in HOSTS for port in (h.db_port, h.ssh_port) if lab_proc.tcp_open(h.ip, port)]
    taken = busy()
    if not taken:
        return
    checks.note(f"the lab's addresses are taken ({', '.join(taken)}), by another lab; waiting up to {timeout:.0f} s")
    t0 = time.monotonic()
    while busy() and time.monotonic() - t0 < timeout:
        time.sleep(2.0)
    checks.timing("waiting for another lab to finish", time.monotonic() - t0)


# ---- one test's world ---------------------------------------------------------------------------

class Stack:
    """The lab, the private bus, the daemon and a watch, for one test. `stop()` stops them all by
    PID and checks that nothing is left."""

    def __init__(self, name: str, checks: Checks, verbose: bool = False):
        self.checks = checks
        self.base = Path(tempfile.mkdtemp(prefix=f"mhafb-{name}-", dir="/tmp"))
        self.work = self.base / "e2e"
        self.work.mkdir()
        self.lab = Lab(self.base / "lab", verbose=verbose or bool(os.environ.get("MHAFB_LAB_VERBOSE")))
        self.daemon_bin, self.ctl_bin = binaries()
        self.bus = PrivateBus(self.work)
        self.daemon: Optional[Daemon] = None
        self.daemons: list[Daemon] = []
        self.watch: Optional[Watch] = None
        self.watches: list[Watch] = []  # one per daemon run: the watch of a stopped daemon stops too
        self.ctl: Optional[Ctl] = None
        # pid -> its start time: a recycled PID is another process, never "ours still running".
        self.pids: dict[int, Optional[str]] = {}
        self.t0 = time.monotonic()  # story times are relative to this (the demo moves it to the failover)

    # -- lifecycle --
    def lab_up(self) -> None:
        wait_lab_addresses_free(self.checks)
        with Timer(self.checks, "lab up"):
            self.lab.up()
        self._remember_lab_pids()

    def _remember_lab_pids(self) -> None:
        for p in self.lab.processes().values():
            if p and p not in self.pids:
                self.pids[p] = lab_proc.start_time(p)

    def remember(self, pid: int) -> None:
        """Counts `pid` among the processes teardown proves gone."""
        self.pids[pid] = lab_proc.start_time(pid)

    def start_bus(self) -> None:
        self.bus.start()
        self.remember(self.bus.proc.pid)
        self.ctl = Ctl(self.ctl_bin, self.bus.address)

    def start_daemon(self, mode: str = "approve", overrides: Optional[dict] = None, stable_seconds: int = 2,
                     state_dir: Optional[Path] = None, config_name: str = "mha-failback.json") -> Daemon:
        if not self.bus.address:
            self.start_bus()
        cfg = self.lab.write_daemon_config(self.work / config_name, mode=mode, overrides=overrides,
                                           stable_seconds=stable_seconds, state_dir=state_dir or self.state_dir)
        self.daemon = Daemon(self.work, self.daemon_bin, cfg, self.bus.address)
        self.daemons.append(self.daemon)
        self.daemon.start()
        self.remember(self.daemon.proc.pid)
        # `watch` needs the daemon on the bus. It may miss a transition of the first tick; the
        # daemon's own audit records (its stderr) are the complete sequence, the watch the D-Bus view.
        self.watch = Watch(self.work, self.ctl_bin, self.bus.address)
        self.watches.append(self.watch)
        self.remember(self.watch.proc.pid)
        return self.daemon

    def stop_daemon(self) -> Optional[int]:
        rc = None
        if self.daemon and self.daemon.running():
            t = time.monotonic()
            rc = self.daemon.stop()
            self.checks.check(rc == 0, f"mha-failbackd exited 0 on SIGTERM after {time.monotonic() - t:.1f} s "
                              f"(exit {rc})")
        if self.watch:
            self.watch.stop()
        return rc

    def transitions(self) -> list[dict]:
        """Every state change of every daemon run, in order, from its audit records, stamped with
        the time the test first saw each one (poll_transitions is called every 0.1 s while waiting)."""
        return [tr for d in self.daemons for tr in d.poll_transitions()]

    def watched_transitions(self) -> list[dict]:
        """The state changes the watches received as D-Bus StateChanged signals."""
        return [tr for w in self.watches for tr in w.transitions()]

    def audit(self) -> list[dict]:
        """The audit records of every daemon run, in order."""
        return [r for d in self.daemons for r in d.audit()]

    @property
    def state_dir(self) -> Path:
        return self.lab.path("daemon", "state")

    def stop(self) -> None:
        """Everything down, by PID; then proves nothing we started still runs or listens."""
        self._remember_lab_pids()
        for obj in [*self.watches, *self.daemons]:
            try:
                obj.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the rest
                print(f"# stopping {type(obj).__name__}: {e}", flush=True)
        self.bus.stop()
        self.lab.down()
        still = sorted(p for p, started in self.pids.items() if lab_proc.alive_same(p, started))
        self.checks.check(not still, f"teardown: none of the {len(self.pids)} processes started runs any more"
                          + (f" (still: {still})" if still else ""))
        # Whatever else ran (a tool's child, a command the daemon started): every process of this
        # test names its directory on its command line.
        left = processes_mentioning(str(self.base) + "/")
        self.checks.check(not left, f"teardown: no process refers to {self.base} any more"
                          + (f" (still: {left})" if left else ""))
        if os.environ.get("MHAFB_E2E_KEEP"):
            print(f"# kept {self.base}", flush=True)
        else:
            shutil.rmtree(self.base, ignore_errors=True)

    def failure_context(self) -> None:
        """Prints what helps find a failure: the daemon's last output, watch lines, roles."""
        if self.daemon:
            print("# ---- daemon output (last 60 lines) ----\n" + self.daemon.tail(60), flush=True)
        if self.watch:
            print("# ---- watch (last 30 lines) ----\n" +
                  "\n".join(t for _, _, t in self.watch.snapshot()[-30:]), flush=True)
        try:
            print("# ---- lab status ----\n" + json.dumps(self.lab.status(), default=str, indent=1), flush=True)
        except Exception as e:  # noqa: BLE001 - diagnostics only
            print(f"# lab status unavailable: {e}", flush=True)

    # -- waiting --
    def mark(self) -> int:
        """How many transitions the current daemon has made so far: taken BEFORE acting, then passed
        as wait_state(since=...), so a transition the action causes at once is never skipped."""
        return len(self.daemon.poll_transitions())

    def wait_state(self, target: str, timeout: float, allow_blocked: bool = False,
                   skip_seen: bool = False, since: Optional[int] = None) -> Optional[dict]:
        """Waits for the current daemon to enter `target` (its audit records; or `status` saying
        so). Returns that transition; None on timeout, on the daemon dying, or on an unexpected
        `blocked`. `since` (from mark()): only transitions after that many count; `skip_seen`: only
        transitions after the ones already seen now (racy when the cause came first: prefer since)."""
        deadline = time.monotonic() + timeout
        seen = since if since is not None else (len(self.daemon.poll_transitions()) if skip_seen else 0)
        next_poll = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            trs = self.daemon.poll_transitions()
            for tr in trs[seen:]:
                if tr["to"] == target:
                    return tr
                if tr["to"] == "blocked" and not allow_blocked:
                    self.checks.note(f"unexpected blocked while waiting for {target}: {tr['reason']}")
                    return None
            seen = len(trs)
            if not self.daemon.running():
                self.checks.note(f"mha-failbackd exited ({self.daemon.proc.returncode}) while waiting for {target}")
                return None
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + 3.0
                try:
                    st = self.ctl.status()
                    if st.get("state") == target:
                        return {"t": time.monotonic(), "epoch": time.time(), "from": "?", "to": target,
                                "reason": st.get("status", "")}
                except (LabError, subprocess.TimeoutExpired, json.JSONDecodeError):
                    pass
            time.sleep(0.1)
        self.checks.note(f"timed out after {timeout:.0f} s waiting for state {target}")
        return None

    def wait_status(self, pred: Callable[[dict], bool], timeout: float, poll: float = 0.5) -> Optional[dict]:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.ctl.status()
                if pred(last):
                    return last
            except (LabError, subprocess.TimeoutExpired, json.JSONDecodeError):
                pass
            time.sleep(poll)
        self.checks.note(f"status condition not met in {timeout:.0f} s; last status: {last}")
        return None

    def state_file(self) -> dict:
        p = self.state_dir / f"{CLUSTER}.state.json"
        try:
            doc = json.loads(p.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return doc.get("body", doc)  # {"version", "body", "checksum"}

    def story(self) -> list[str]:
        """State changes and decision sentences, with seconds since the stack was made."""
        out = []
        events = [(tr["t"], f"state {tr['from']} -> {tr['to']}: {tr['reason']}") for tr in self.transitions()]
        events += [(t, f"  decision: {s}") for w in self.watches for t, s in w.statuses()]
        for t, text in sorted(events, key=lambda e: e[0]):
            out.append(f"{t - self.t0:+7.1f}s  {text}")
        return out


# ---- facts read from the servers ----------------------------------------------------------------

def role(lab: Lab, host: str) -> dict:
    """What a server says about itself: up, read_only, replication source and threads."""
    r: dict = {"host": host, "up": False}
    try:
        r["read_only"] = int(lab.sql_value(host, "SELECT @@global.read_only"))
        r["up"] = True
        s = lab.slave_status(host)
        r["source"] = s.get("Master_Host") or ""
        r["io"] = s.get("Slave_IO_Running") or ""
        r["sql"] = s.get("Slave_SQL_Running") or ""
        r["last_io_errno"] = int(s.get("Last_IO_Errno") or 0)
        r["gtid"] = lab.gtid_binlog_pos(host)
    except pymysql.err.MySQLError as e:
        r["error"] = str(e)
    return r


def check_final_roles(checks: Checks, lab: Lab, master: str = "db1", replica: str = "db2") -> None:
    m, s = role(lab, master), role(lab, replica)
    checks.check(m["up"] and m.get("read_only") == 0 and not m.get("source"),
                 f"{master} is the master: writable and replicating from nobody ({m})")
    mip = lab.host(master).ip
    # Replication may need a moment to show both threads running after the switch.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (s.get("io") == "Yes" and s.get("sql") == "Yes"):
        time.sleep(0.3)
        s = role(lab, replica)
    checks.check(s["up"] and s.get("read_only") == 1 and s.get("source") == mip and s.get("io") == "Yes"
                 and s.get("sql") == "Yes", f"{replica} is a read-only replica of {mip}, both threads running ({s})")


def check_data(checks: Checks, lab: Lab, hosts: tuple[str, ...] = ("db1", "db2")) -> dict:
    """Every acknowledged write on every host; CHECKSUM TABLE equal. Returns verify() of hosts[0]."""
    first = {}
    for h in hosts:
        v = lab.verify(h, checksum_wait=30)
        first = first or v
        checks.check(v["missing"] == 0, f"every acknowledged write is on {h}: {v['acked']} acknowledged, "
                     f"{v['missing']} missing {v['missing_ids_sample'] or ''}")
    checks.check(first.get("checksums_equal", False), f"CHECKSUM TABLE lab.writes equal: {first.get('checksums')}")
    return first


def acked_write_gap(lab: Lab, host: str, start_epoch: float, end_epoch: float) -> tuple[float, int]:
    """Longest gap in seconds between consecutive ACKNOWLEDGED writes committed in [start, end]
    (server timestamps written_at, read from `host`), and how many such writes there were."""
    acked = set(read_acks(lab.path("writer", "acks.txt")))
    with closing(lab.connect(host)) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, UNIX_TIMESTAMP(written_at) FROM lab.writes "
                    "WHERE written_at BETWEEN FROM_UNIXTIME(%s) AND FROM_UNIXTIME(%s) ORDER BY written_at, id",
                    (start_epoch, end_epoch))
        times = [float(t) for i, t in cur.fetchall() if int(i) in acked]
    # The window's edges count: a writer stuck across the whole window is one long gap.
    points = [start_epoch] + times + [end_epoch]
    gap = max(b - a for a, b in zip(points, points[1:]))
    return gap, len(times)


def no_secret_in(text: str, lab: Lab) -> bool:
    return not any(lab.password(a) in text for a in ("admin", "repl", "app"))


def audit_kinds(records: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        k = r.get("AUDIT_KIND", "?")
        out[k] = out.get(k, 0) + 1
    return out


def transition_pairs(records_or_transitions: list[dict]) -> list[tuple[str, str]]:
    out = []
    for r in records_or_transitions:
        if "from" in r:
            out.append((r["from"], r["to"]))
        elif r.get("AUDIT_KIND") in ("transition", "blocked") and r.get("STATE_FROM"):
            out.append((r["STATE_FROM"], r.get("STATE", "")))
    return out


# ---- the demo (scripts/demo.sh) -----------------------------------------------------------------

def run_demo(build: Path) -> int:
    """The main job, told as a story: MHA fails over for real, mha-failbackd brings the cluster home,
    an operator approves the switch back with mha-failbackctl, and the data is checked."""
    os.environ["MHAFB_BUILD_DIR"] = str(build)
    checks = Checks("demo")
    stack = Stack("demo", checks)
    if os.environ.get("MHAFB_DEMO_BASE_FILE"):
        Path(os.environ["MHAFB_DEMO_BASE_FILE"]).write_text(str(stack.base) + "\n")
    say = lambda s: print(s, flush=True)  # noqa: E731
    rc = 1
    try:
        say(f"== 1. the lab: MariaDB db1 ({HOSTS[0].ip}, master) and db2 ({HOSTS[1].ip}, replica), an sshd per host, MHA 0.58")
        stack.lab_up()
        say("== 2. the application writes through the 'app' account, ~100 writes/s, following the writable master")
        stack.lab.writer_start()
        say("== 3. mha-failbackd (approve mode) on a private D-Bus, MHA manager watching the pair")
        stack.start_daemon(mode="approve")
        stack.lab.manager_start()
        time.sleep(1.0)
        say("== 4. db1's mariadbd is killed; MHA fails over to db2")
        fo = stack.lab.failover(mode="manager")
        stack.t0 = time.monotonic() - fo.seconds  # the SIGKILL of db1 is t=0 in the story
        checks.timing("MHA failover (kill -> manager exit)", fo.seconds)
        say(f"   masterha_manager exit {fo.rc}, failover flag written: {fo.flag_written}, db2 writable: "
            f"{fo.new_master_writable}")
        say("== 5. mha-failbackd brings db1 back (start over SSH, fence, divergence gate, rejoin, validate)")
        t = time.monotonic()
        ok = stack.wait_state("validated", 300) is not None
        checks.timing("failover flag -> validated", time.monotonic() - t)
        if not checks.check(ok, "the daemon validated the rejoined db1"):
            stack.failure_context()
            return 1
        say("== 6. the operator approves: mha-failbackctl failback app1 --wait")
        t_switch0 = time.time()
        t = time.monotonic()
        r = stack.ctl.run("failback", CLUSTER, "--wait", "--reason", "demo: switch back to db1", timeout=600)
        t_switch1 = time.time()
        checks.timing("failback --wait", time.monotonic() - t)
        for line in (r.stdout + r.stderr).strip().splitlines():
            say(f"   | {line}")
        checks.check(r.returncode == 0, f"mha-failbackctl failback --wait exit {r.returncode}")
        healthy = stack.wait_state("healthy", 240) is not None
        checks.check(healthy, "the daemon restored MHA and reached healthy")
        time.sleep(1.0)
        summary = stack.lab.writer_stop()
        say("== 7. the story: every state change and decision sentence, seconds after db1 was killed")
        for line in stack.story():
            say("   " + line)
        say("== 8. the data check")
        check_final_roles(checks, stack.lab)
        v = check_data(checks, stack.lab)
        gap, n = acked_write_gap(stack.lab, "db1", t_switch0, t_switch1)
        lost = v["missing"]
        say(f"   acknowledged writes: {v['acked']}, lost: {lost}, checksums equal: {v['checksums_equal']} "
            f"{v['checksums']}")
        say(f"   longest gap between acknowledged writes during the switch back: {gap * 1000:.0f} ms "
            f"({n} writes in the switch window); over the whole run, failover included: "
            f"{summary.get('longest_gap_ms')} ms")
        h = stack.lab.health() or {}
        checks.check(h.get("code") == 0, f"MHA manager health: {h.get('name')}")
        stack.stop_daemon()
        rc = 0 if not checks.failed else 1
    except Exception as e:  # noqa: BLE001 - report, then clean up
        import traceback
        traceback.print_exc()
        checks.check(False, f"unexpected error: {e}")
        stack.failure_context()
    finally:
        say("== 9. teardown")
        stack.stop()
    return checks.finish() or rc


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="the mha-failback demo on the lab")
    p.add_argument("command", choices=["demo"])
    p.add_argument("--build-dir", default=str(build_dir()))
    a = p.parse_args()
    sys.exit(run_demo(Path(a.build_dir).absolute()))
