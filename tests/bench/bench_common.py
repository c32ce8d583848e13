#!/usr/bin/env python3
"""Shared machinery of the benchmarks in tests/bench (not tests: they measure, they assert nothing).

Every benchmark drives the real components the integration tests use: the lab (tests/lab: two
mariadbd, two sshd, MHA 0.58 on loopback), a private dbus-daemon and the real mha-failbackd from
$MHAFB_BUILD_DIR (a RelWithDebInfo build). What differs from tests/integration/e2e_support.py:

- BenchDaemon reads the daemon's stderr through a pipe and stamps every line on arrival (monotonic
  and wall clock), so the audit records give a timeline with millisecond resolution rather than the
  0.1 s of the e2e poller.
- helpers for what benchmarks report: percentiles, /proc samples (CPU ticks, RSS, context switches),
  the machine and its load, a table printer and the JSON writer.

Everything started here is stopped by PID (BenchStack.stop()).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "lab"))

from e2e_support import (CLUSTER, JOURNAL_SOCKET, Ctl, PrivateBus, binaries, build_dir,  # noqa: E402
                         clean_env, parse_audit_line)
from lab import ACCOUNTS, HOSTS, Lab, LabError  # noqa: E402
import lab_proc  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---- numbers ------------------------------------------------------------------------------------

def percentile(values: Iterable[float], p: float) -> Optional[float]:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    v = sorted(values)
    if not v:
        return None
    k = max(1, math.ceil(p / 100.0 * len(v)))
    return v[min(k, len(v)) - 1]


def median(values: Iterable[float]) -> Optional[float]:
    v = sorted(values)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def fmt(x, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3f}" if abs(x) < 10 else f"{x:.{digits}f}"
    return str(x)


def print_table(title: str, headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [[fmt(c) if not isinstance(c, str) else c for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [f"## {title}", "| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths)) + " |",
             "| " + " | ".join("-" * w for w in widths) + " |"]
    for r in cells[1:]:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


# ---- the machine ----------------------------------------------------------------------------------

def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine() -> dict:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    try:
        debian = Path("/etc/debian_version").read_text().strip()
    except OSError:
        debian = "?"
    commit = os.environ.get("MHAFB_BENCH_COMMIT", "")
    if not commit:
        try:
            commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                                    timeout=10).stdout.strip()
        except OSError:
            commit = ""
    build_type = ""
    try:
        for line in (build_dir() / "CMakeCache.txt").read_text().splitlines():
            if line.startswith("CMAKE_BUILD_TYPE:"):
                build_type = line.split("=", 1)[1]
    except OSError:
        pass
    return {"cores": os.cpu_count(), "mem_gib": round(mem_kb / 1024 / 1024, 1), "cpu": model,
            "commit": commit, "build_dir": str(build_dir()), "build_type": build_type,
            "debian": debian, "kernel": platform.release(), "loadavg_at_start": loadavg(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


class LoadWatch:
    """Samples the 1-minute load average every 5 s while a benchmark runs (other work shares the box)."""

    def __init__(self):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while True:
            self.samples.append(loadavg()[0])
            if self._stop.wait(5.0):
                return

    def stop(self) -> dict:
        self._stop.set()
        self._t.join(2)
        s = self.samples or [0.0]
        return {"load1_min": min(s), "load1_median": median(s), "load1_max": max(s), "samples": len(s)}


def results_dir(arg: Optional[str]) -> Path:
    d = Path(arg) if arg else build_dir() / "bench-results"
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_json(out_dir: Path, name: str, data: dict) -> Path:
    p = out_dir / f"{name}.json"
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, p)
    print(f"# results saved to {p}", flush=True)
    return p


# ---- /proc ----------------------------------------------------------------------------------------

def proc_sample(pid: int) -> dict:
    """CPU ticks (utime+stime of every thread), RSS, context switches summed over the threads."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    rss_pages = int(fields[21])
    vol = nonvol = threads = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    vol += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    nonvol += int(line.split()[1])
            threads += 1
        except OSError:
            pass  # a thread ended between listing and reading
    hwm = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return {"t": time.monotonic(), "cpu_s": (utime + stime) / CLK_TCK, "rss_kib": rss_pages * PAGE // 1024,
            "hwm_kib": hwm, "vol_cs": vol, "nonvol_cs": nonvol, "threads": threads}


def footprint(pid: int, seconds: float, every: float = 1.0) -> dict:
    """Samples `pid` for `seconds`: CPU% of one core, RSS (max, last), wakeups per second."""
    first = proc_sample(pid)
    samples = [first]
    end = first["t"] + seconds
    while time.monotonic() < end:
        time.sleep(min(every, max(0.0, end - time.monotonic())))
        samples.append(proc_sample(pid))
    last = samples[-1]
    dt = last["t"] - first["t"]
    return {"seconds": round(dt, 2),
            "cpu_percent": round(100.0 * (last["cpu_s"] - first["cpu_s"]) / dt, 3),
            "cpu_seconds": round(last["cpu_s"] - first["cpu_s"], 3),
            "rss_mib_max": round(max(s["rss_kib"] for s in samples) / 1024, 2),
            "rss_mib_last": round(last["rss_kib"] / 1024, 2),
            "hwm_mib": round(last["hwm_kib"] / 1024, 2),
            "voluntary_cs_per_s": round((last["vol_cs"] - first["vol_cs"]) / dt, 2),
            "nonvoluntary_cs_per_s": round((last["nonvol_cs"] - first["nonvol_cs"]) / dt, 2),
            "threads": last["threads"]}


# ---- the daemon, stamped line by line --------------------------------------------------------------

class BenchDaemon:
    """mha-failbackd on a private bus; its output read through a pipe, each line stamped on arrival."""

    def __init__(self, workdir: Path, config: Path, bus: str, name: str = "daemon"):
        self.workdir, self.config, self.bus = workdir, config, bus
        self.bin, _ = binaries()
        self.log = workdir / f"{name}.log"
        self.lines: list[tuple[float, float, str]] = []  # (monotonic, epoch, text)
        self._lock = threading.Lock()
        self._new_line = threading.Condition(self._lock)
        self.proc: Optional[subprocess.Popen] = None
        self._reader: Optional[threading.Thread] = None

    def argv(self) -> list[str]:
        argv = [str(self.bin), "--config", str(self.config), "--bus", self.bus]
        if JOURNAL_SOCKET.exists():
            # Hide a listening journald: the audit records must come to stderr (see e2e_support).
            argv = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    'mount -t tmpfs tmpfs /run/systemd/journal && exec "$0" "$@"', *argv]
        return argv

    def start(self, ready_timeout: float = 120.0) -> None:
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True)
        lab_proc.write_pid(self.workdir / "run" / "mha-failbackd.pid", self.proc.pid)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if self.wait_line(lambda s: " ready: " in s, ready_timeout) is None:
            raise LabError(f"mha-failbackd not ready after {ready_timeout:.0f} s:\n{self.tail(30)}")

    def _read(self) -> None:
        with open(self.log, "a", buffering=1) as log:
            for raw in self.proc.stdout:
                mono, epoch = time.monotonic(), time.time()
                text = raw.decode("utf-8", "replace").rstrip("\n")
                with self._new_line:
                    self.lines.append((mono, epoch, text))
                    self._new_line.notify_all()
                log.write(f"{epoch:.6f} {text}\n")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def mark(self) -> int:
        with self._lock:
            return len(self.lines)

    def wait_line(self, pred: Callable[[str], bool], timeout: float, since: int = 0):
        """The first line at index >= since matching pred: (index, monotonic, epoch, text) or None."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            i = since
            while True:
                while i < len(self.lines):
                    mono, epoch, text = self.lines[i]
                    if pred(text):
                        return i, mono, epoch, text
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc and self.proc.poll() is not None and i >= len(self.lines)):
                    return None
                self._new_line.wait(min(left, 0.5))

    def records(self, since: int = 0, until: Optional[int] = None) -> list[dict]:
        """Audit records (lines carrying MESSAGE_ID) with their arrival stamps 't' and 'epoch'."""
        with self._lock:
            lines = self.lines[since:until]
        out = []
        for mono, epoch, text in lines:
            r = parse_audit_line(text)
            if r:
                r["t"], r["epoch"] = mono, epoch
                out.append(r)
        return out

    def wait_state(self, state: str, timeout: float, since: int = 0, cluster: Optional[str] = None):
        """The audit record of the transition into `state` (or blocked, which ends the wait)."""
        def pred(text: str) -> bool:
            r = parse_audit_line(text)
            return bool(r and r.get("STATE_FROM") and r.get("STATE") in (state, "blocked")
                        and (cluster is None or r.get("CLUSTER") == cluster))
        hit = self.wait_line(pred, timeout, since)
        if hit is None:
            return None
        i, mono, epoch, text = hit
        r = parse_audit_line(text)
        r.update({"t": mono, "epoch": epoch, "index": i})
        return r

    def tail(self, n: int = 40) -> str:
        with self._lock:
            return "\n".join(t for _, _, t in self.lines[-n:])

    def stop(self, timeout: float = 120.0) -> Optional[int]:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self._reader:
            self._reader.join(5)
        (self.workdir / "run" / "mha-failbackd.pid").unlink(missing_ok=True)
        return self.proc.returncode


class DbusMonitor:
    """dbus-monitor on the private bus for StateChanged signals: (receive time, path, from, to)."""

    def __init__(self, workdir: Path, bus: str):
        self.signals: list[dict] = []
        self._lock = threading.Condition()
        rule = "type='signal',interface='org.mhafailback.Supervisor1.Cluster',member='StateChanged'"
        self.proc = subprocess.Popen(["/usr/bin/dbus-monitor", "--address", bus, rule],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1, env=clean_env(), start_new_session=True)
        lab_proc.write_pid(workdir / "run" / "dbus-monitor.pid", self.proc.pid)
        self.workdir = workdir
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()
        time.sleep(0.3)  # the match rule is registered once dbus-monitor runs

    _HEAD = re.compile(r"^signal time=(\d+\.\d+) .* path=([^;]+); interface=\S+; member=StateChanged")

    def _read(self) -> None:
        cur: Optional[dict] = None
        for line in self.proc.stdout:
            m = self._HEAD.match(line)
            if m:
                cur = {"time": float(m.group(1)), "arrived": time.time(), "path": m.group(2), "args": []}
                continue
            s = re.match(r'^\s+string "(.*)"\s*$', line)
            if cur is not None and s:
                cur["args"].append(s.group(1))
                if len(cur["args"]) == 3:
                    with self._lock:
                        self.signals.append({"time": cur["time"], "arrived": cur["arrived"], "path": cur["path"],
                                             "from": cur["args"][0], "to": cur["args"][1],
                                             "reason": cur["args"][2]})
                        self._lock.notify_all()
                    cur = None

    def wait(self, pred: Callable[[dict], bool], timeout: float, since: int = 0) -> Optional[dict]:
        deadline = time.monotonic() + timeout
        with self._lock:
            i = since
            while True:
                while i < len(self.signals):
                    if pred(self.signals[i]):
                        return self.signals[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(min(left, 0.5))

    def mark(self) -> int:
        with self._lock:
            return len(self.signals)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self._t.join(5)
        (self.workdir / "run" / "dbus-monitor.pid").unlink(missing_ok=True)


class BenchStack:
    """A lab, a private bus and daemons for one benchmark; stop() ends all of them by PID."""

    def __init__(self, name: str, verbose: bool = False):
        self.base = Path(tempfile.mkdtemp(prefix=f"mhafb-bench-{name}-", dir="/tmp"))
        self.work = self.base / "bench"
        (self.work / "run").mkdir(parents=True)
        self.lab = Lab(self.base / "lab", verbose=verbose or bool(os.environ.get("MHAFB_LAB_VERBOSE")))
        self.bus = PrivateBus(self.work)
        self.daemons: list[BenchDaemon] = []
        self.monitor: Optional[DbusMonitor] = None
        self.ctl: Optional[Ctl] = None
        _, self.ctl_bin = binaries()

    def lab_up(self, check_mha: bool = True) -> float:
        busy = [f"{h.ip}:{p}" for h in HOSTS for p in (h.db_port, h.ssh_port) if lab_proc.tcp_open(h.ip, p)]
        if busy:
            raise LabError(f"the lab addresses are taken ({', '.join(busy)}): set MHAFB_LAB_IPS to a free pair")
        t = time.monotonic()
        self.lab.up(check_mha=check_mha)
        return time.monotonic() - t

    def start_bus(self, monitor: bool = False) -> None:
        if not self.bus.address:
            self.bus.start()
            self.ctl = Ctl(self.ctl_bin, self.bus.address)
        if monitor and not self.monitor:
            self.monitor = DbusMonitor(self.work, self.bus.address)

    def start_daemon(self, config: Path, name: str = "daemon") -> BenchDaemon:
        self.start_bus()
        d = BenchDaemon(self.work, config, self.bus.address, f"{name}-{len(self.daemons) + 1}")
        self.daemons.append(d)
        d.start()
        return d

    def stop(self, keep: bool = False) -> None:
        for d in self.daemons:
            try:
                d.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the rest
                print(f"# stopping the daemon: {e}", flush=True)
        if self.monitor:
            self.monitor.stop()
        self.bus.stop()
        self.lab.down()
        left = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()
                and lab_proc.alive(int(p), str(self.base) + "/")]
        if left:
            print(f"# WARNING: processes still refer to {self.base}: {left}", flush=True)
        if keep or os.environ.get("MHAFB_BENCH_KEEP"):
            print(f"# kept {self.base}", flush=True)
        else:
            shutil.rmtree(self.base, ignore_errors=True)


def daemon_config(lab: Lab, out: Path, mode: str, stable_seconds: int, probe_ms: int,
                  extra: Optional[dict] = None) -> Path:
    """The lab's daemon config (Lab.daemon_config_dict) with the benchmark's probe interval."""
    overrides = {"timeouts": {"probe_interval_ms": probe_ms}}
    for k, v in (extra or {}).items():
        overrides[k] = v
    return lab.write_daemon_config(out, mode=mode, stable_seconds=stable_seconds, overrides=overrides)


def common_args(parser) -> None:
    parser.add_argument("--out", help="directory for the JSON results (default $MHAFB_BUILD_DIR/bench-results)")
    parser.add_argument("--keep", action="store_true", help="keep the lab directory afterwards")
    parser.add_argument("--verbose", action="store_true")


def header(name: str) -> dict:
    m = machine()
    print(f"# {name}: {m['cores']} cores ({m['cpu']}), {m['mem_gib']} GiB, Debian {m['debian']}, "
          f"load average {m['loadavg_at_start']}, build {build_dir()} ({m['build_type']}), commit "
          f"{m['commit'][:12] or '?'}", flush=True)
    return m


# ---- extra MHA apps pointing at the lab's two servers ----------------------------------------------

CAPTURED_FAILOVER_LOG = REPO / "tests" / "data" / "mha" / "captured" / "manager_log.failover-ok.txt"


def make_apps(lab: Lab, root: Path, names: list[str], failover: Optional[tuple[str, str]] = None,
              second_server: Optional[str] = None) -> list[Path]:
    """One MHA app config per name (a copy of the lab's, 0600), each with its own manager_workdir
    and manager_log under root/<name>/, so each has its own failover flag. second_server replaces
    db2's address in it (e.g. an address where nothing listens). With failover = (dead, new)
    addresses, the manager log holds a real captured "failover completed successfully" report
    (tests/data/mha/captured, captured as 127.0.0.11 -> 127.0.0.12, rewritten to these
    addresses), which is what the daemon reads when a flag appears."""
    template = lab.mha_conf.read_text()
    if second_server:
        template = re.sub(rf"(?m)^hostname={re.escape(HOSTS[1].ip)}$", f"hostname={second_server}", template)
    log_text = ""
    if failover:
        log_text = CAPTURED_FAILOVER_LOG.read_text()
        log_text = re.sub(r"127\.0\.0\.11(?!\d)", "@DEAD@", log_text)
        log_text = re.sub(r"127\.0\.0\.12(?!\d)", "@NEW@", log_text)
        log_text = log_text.replace("@DEAD@", failover[0]).replace("@NEW@", failover[1])
    out = []
    for name in names:
        d = root / name
        (d / "work").mkdir(parents=True, exist_ok=True)
        text = re.sub(r"(?m)^manager_workdir=.*$", f"manager_workdir={d / 'work'}", template)
        text = re.sub(r"(?m)^manager_log=.*$", f"manager_log={d / 'manager.log'}", text)
        conf = d / f"{name}.cnf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        (d / "manager.log").write_text(log_text)
        out.append(conf)
    return out


def multi_cluster_config(lab: Lab, out: Path, confs: list[Path], mode: str, probe_ms: int,
                         state_dir: Path, stable_seconds: int = 0, preferred: Optional[str] = None) -> Path:
    """mha-failbackd's config with one cluster per MHA app config (the lab's cluster settings)."""
    base = lab.daemon_config_dict(mode=mode, state_dir=state_dir, stable_seconds=stable_seconds,
                                  overrides={"timeouts": {"probe_interval_ms": probe_ms},
                                             "preferred_master": preferred or HOSTS[0].ip})
    template = base["clusters"][0]
    clusters = []
    for conf in confs:
        c = json.loads(json.dumps(template))
        c["name"] = conf.stem
        c["mha_conf"] = str(conf)
        clusters.append(c)
    base["clusters"] = clusters
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    out.write_text(json.dumps(base, indent=2) + "\n")
    return out


def read_state(state_dir: Path, name: str) -> dict:
    try:
        doc = json.loads((state_dir / f"{name}.state.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return doc.get("body", doc)


def general_log_on(lab: Lab, on: bool, max_connections: Optional[int] = None) -> None:
    """Both servers' general log into mysql.general_log (microsecond timestamps, server side).
    The TRUNCATE is kept out of the binlog: replicated, it would put a GTID of the replica's own
    into its binlog and break GTID strict mode."""
    for h in ("db1", "db2"):
        with lab.connect(h) as conn, conn.cursor() as cur:
            if on:
                if max_connections:
                    cur.execute(f"SET GLOBAL max_connections={int(max_connections)}")
                cur.execute("SET GLOBAL log_output='TABLE'")
                cur.execute("SET SESSION sql_log_bin=0")
                cur.execute("TRUNCATE TABLE mysql.general_log")
            cur.execute(f"SET GLOBAL general_log={1 if on else 0}")


def dir_event_rate(directory: str = "/tmp", seconds: float = 5.0) -> float:
    """Events per second that an inotify watch with mha-failbackd's mask (create, delete, moves,
    close-write, attrib, modify) sees in `directory`: the background that wakes the daemon while
    its flag watcher watches that directory as an ancestor of a cluster's MHA work dir."""
    import ctypes
    import select
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    if fd < 0:
        return -1.0
    try:
        mask = 0x100 | 0x200 | 0x40 | 0x80 | 0x8 | 0x4 | 0x2  # CREATE DELETE MOVED_FROM/TO CLOSE_WRITE ATTRIB MODIFY
        if libc.inotify_add_watch(fd, directory.encode(), mask) < 0:
            return -1.0
        n, end = 0, time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if r:
                buf = os.read(fd, 65536)
                off = 0
                while off + 16 <= len(buf):
                    name_len = int.from_bytes(buf[off + 12:off + 16], "little")
                    off += 16 + name_len
                    n += 1
        return round(n / seconds, 1)
    finally:
        os.close(fd)


class AncestorEvents:
    """Counts, in threads, the inotify events of every ancestor directory of `path` while a
    footprint window runs (what wakes a flag watcher that watches them with a full mask)."""

    def __init__(self, path: Path, seconds: float):
        self.rates: dict[str, float] = {}
        dirs = [str(p) for p in reversed(Path(path).parents)]
        self._threads = [threading.Thread(target=self._one, args=(d, seconds), daemon=True) for d in dirs]
        for t in self._threads:
            t.start()

    def _one(self, d: str, seconds: float) -> None:
        self.rates[d] = dir_event_rate(d, seconds)

    def result(self) -> dict[str, float]:
        for t in self._threads:
            t.join()
        return self.rates
