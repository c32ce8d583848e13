"""Process helpers for the lab: detached daemons recorded in PID files, liveness that is not fooled
by zombies or PID reuse, and bounded stop/kill.

Every process the lab starts gets its own session (so a caller's process-group kill never reaches
it, and it survives the caller's exit) and a PID file written by the lab right after the spawn, so
`down` can find it even after a partial `up` or a crash. A PID only counts as ours while its
command line still mentions the lab directory: a recycled PID is never signalled.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

# PID 1 on the test machines reaps orphans lazily, so a dead daemon can linger as a zombie for
# seconds; kill(pid, 0) succeeds on zombies, hence the /proc state check.


def _stat_fields(pid: int | str) -> Optional[list[str]]:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, ...), or None when
    the process is gone. The name may contain spaces and parentheses: split after the last ')'."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    return data[data.rfind(")") + 2:].split()


def _proc_state(pid: int) -> Optional[str]:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def start_time(pid: int) -> Optional[str]:
    """The process's start time (clock ticks after boot, field 22 of /proc/PID/stat): with the PID it
    names one process for good, where a PID alone is recycled (pid_max is 32768 on these machines,
    and a suite run spawns tens of thousands of processes)."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None  # field 22 overall; 3 is the first after comm


def alive_same(pid: int, started: Optional[str]) -> bool:
    """True while the process that had `started` (from start_time) as its start time still runs."""
    return started is not None and alive(pid) and start_time(pid) == started


def alive(pid: int, marker: Optional[str] = None) -> bool:
    """True while `pid` runs (not a zombie) and, if given, its command line contains `marker`."""
    if pid <= 0:
        return False
    state = _proc_state(pid)
    if state is None or state in ("Z", "X"):
        return False
    if marker is not None and marker not in _cmdline(pid):
        return False
    return True


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is `pgid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)  # state ppid pgrp ...
        if fields and len(fields) > 2 and fields[0] not in ("Z", "X") and fields[2] == str(pgid):
            out.append(int(entry))
    return out


def wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_members(pgid):
            return True
        time.sleep(0.02)
    return not group_members(pgid)


def read_pid(pidfile: Path) -> Optional[int]:
    try:
        text = pidfile.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def write_pid(pidfile: Path, pid: int) -> None:
    tmp = pidfile.with_suffix(pidfile.suffix + ".tmp")
    tmp.write_text(f"{pid}\n")
    os.replace(tmp, pidfile)


def running_pid(pidfile: Path, marker: str) -> Optional[int]:
    """The PID recorded in `pidfile` if that process still runs and is ours, else None."""
    pid = read_pid(pidfile)
    if pid is not None and alive(pid, marker):
        return pid
    return None


def spawn_detached(argv: Sequence[str], pidfile: Path, log: Path,
                   env: Mapping[str, str], cwd: Optional[Path] = None) -> subprocess.Popen:
    """Starts `argv` in its own session with stdin from /dev/null and stdout+stderr appended to
    `log`; records its PID in `pidfile` before returning. No inherited descriptors leak in, so a
    caller reading our pipes is never kept waiting by the daemon."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=dict(env), cwd=str(cwd) if cwd else None, start_new_session=True,
                                close_fds=True)
    write_pid(pidfile, proc.pid)
    return proc


def wait_gone(pid: int, timeout: float, marker: Optional[str] = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, marker):
            return True
        time.sleep(0.02)
    return not alive(pid, marker)


def signal_group(pid: int, sig: int) -> None:
    """Signals the process group led by `pid` (every lab daemon leads its own), or just `pid`."""
    try:
        os.killpg(pid, sig)
        return
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_pidfile(pidfile: Path, marker: str, term_timeout: float = 10.0,
                 sig: int = signal.SIGTERM) -> bool:
    """Stops the process recorded in `pidfile`: `sig` to its group, SIGKILL after `term_timeout`.
    Returns True if something was running. Removes the PID file once the process is gone."""
    pid = running_pid(pidfile, marker)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    signal_group(pid, sig)
    if sig != signal.SIGKILL and not wait_gone(pid, term_timeout, marker):
        signal_group(pid, signal.SIGKILL)
    wait_gone(pid, 10.0, marker)
    _finish_group(pid)
    pidfile.unlink(missing_ok=True)
    return True


def _finish_group(pgid: int) -> None:
    """The leader is gone; members of its group (a tool's children) get a moment, then SIGKILL."""
    if not wait_group_gone(pgid, 2.0):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_group_gone(pgid, 5.0)


def stop_many(items: Iterable[tuple[Path, str]], term_timeout: float = 10.0) -> list[Path]:
    """Stops several PID files at once (all signalled first, then waited for): shutdowns overlap."""
    pending = []
    for pidfile, marker in items:
        pid = running_pid(pidfile, marker)
        if pid is None:
            pidfile.unlink(missing_ok=True)
            continue
        signal_group(pid, signal.SIGTERM)
        pending.append((pidfile, marker, pid))
    deadline = time.monotonic() + term_timeout
    for pidfile, marker, pid in pending:
        if not wait_gone(pid, max(0.0, deadline - time.monotonic()), marker):
            signal_group(pid, signal.SIGKILL)
            wait_gone(pid, 10.0, marker)
        _finish_group(pid)
        pidfile.unlink(missing_ok=True)
    return [p for p, _, _ in pending]


def tcp_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_tcp(host: str, port: int, timeout: float, pid: Optional[int] = None) -> bool:
    """Waits until host:port accepts connections; gives up early if `pid` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tcp_open(host, port):
            return True
        if pid is not None and not alive(pid):
            return False
        time.sleep(0.02)
    return False


def run(argv: Sequence[str], env: Mapping[str, str], timeout: float = 300.0,
        cwd: Optional[Path] = None, stdin_data: Optional[str] = None,
        pidfile: Optional[Path] = None) -> tuple[int, str]:
    """Runs a tool to completion in its own process group; returns (exit code, stdout+stderr).
    On timeout the whole group is killed and the code is -9. With `pidfile`, the PID is recorded
    while it runs, so `down` can stop it if the caller dies meanwhile."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(env),
                            cwd=str(cwd) if cwd else None, start_new_session=True, text=True)
    if pidfile is not None:
        write_pid(pidfile, proc.pid)
    try:
        out, _ = proc.communicate(stdin_data, timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        signal_group(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return -9, out + f"\n[lab] killed after {timeout:.0f} s timeout\n"
    finally:
        if pidfile is not None:
            pidfile.unlink(missing_ok=True)
