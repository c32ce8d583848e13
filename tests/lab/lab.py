#!/usr/bin/env python3
"""The mha-failback lab: a real MariaDB + sshd + MHA 0.58 world on loopback, built from scratch.

Two "hosts", each a loopback address with its own mariadbd (port 3306) and its own sshd (port
2222): db1 = 127.0.0.11 (the initial master), db2 = 127.0.0.12 (a GTID replica, read_only=1).
MHA's app config, fixed MHA node modules, keys, passwords and every log live in one directory
(default /tmp/mhafb-lab); removing it after `down` leaves no state anywhere else.

Use it as a module (integration tests) or as a CLI (`lab.py --help`):

    import sys; sys.path.insert(0, "<repo>/tests/lab")
    from lab import Lab
    with Lab("/tmp/my-lab") as lab:          # up() on enter, down() on exit
        lab.sql("db1", "SELECT 1")
        result = lab.failover(mode="manager")
        assert result.flag_exists and result.new_master_writable

Passwords are generated per lab and kept in 0600 files under <dir>/secrets; they are never
printed and never put in argv (the mariadb CLI gets them through --defaults-file option files).
MHA alone needs them inside its app config, which is written 0600.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

try:
    import pymysql
except ImportError:  # a non-Debian python3 first in PATH (pyenv): use Debian's python3-pymysql
    sys.path.append("/usr/lib/python3/dist-packages")
    import pymysql  # noqa: E402

import lab_mha  # noqa: E402
import lab_proc  # noqa: E402

DEFAULT_DIR = Path(os.environ.get("MHAFB_LAB_DIR", "/tmp/mhafb-lab"))
STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
APP_NAME = "app1"
SSH_PORT = 2222
DB_PORT = 3306
# Accounts: key -> MariaDB user name. `admin` has ALL PRIVILEGES (MHA and the daemon use it);
# `app` has rights on the `lab` database only, so read_only really fences it.
ACCOUNTS = {"admin": "mhaadmin", "repl": "repl", "app": "app"}
ACCOUNT_HOST = "127.%"  # clients reach 127.0.0.11/12 from 127.0.0.1


@dataclass(frozen=True)
class Host:
    name: str
    ip: str
    server_id: int
    db_port: int = DB_PORT
    ssh_port: int = SSH_PORT




def _lab_ips() -> tuple[str, str]:
    """db1's and db2's addresses: 127.0.0.11/12 unless MHAFB_LAB_IPS names another loopback pair
    ("127.0.0.21,127.0.0.22"), so two labs can run side by side while tests are being written."""
    raw = os.environ.get("MHAFB_LAB_IPS", "127.0.0.11,127.0.0.12")
    ips = tuple(x.strip() for x in raw.split(","))
    if len(ips) != 2 or ips[0] == ips[1] or not all(ip.startswith("127.") and ip.count(".") == 3 for ip in ips):
        raise SystemExit(f"MHAFB_LAB_IPS={raw!r}: expected two distinct loopback addresses, e.g. 127.0.0.21,127.0.0.22")
    return ips[0], ips[1]


HOSTS = (Host("db1", _lab_ips()[0], 1), Host("db2", _lab_ips()[1], 2))


class LabError(RuntimeError):
    """A lab step failed; the message says which and where to look."""


@dataclass
class FailoverResult:
    mode: str                    # "manager" (masterha_manager) or "switch" (master_switch --master_state=dead)
    dead: str
    new: str
    rc: Optional[int]            # the MHA tool's exit code (None if the manager was not our child)
    seconds: float               # from the SIGKILL of the dead master to the tool's exit
    flag_exists: bool            # <workdir>/app1.failover.complete exists after the run
    flag_written: bool           # ... and was (re)written by this failover (a stale flag makes MHA refuse)
    new_master_writable: bool    # read_only=0 on the new master
    dead_master_ssh_reachable: bool
    completed_text: bool         # "Master failover to ... completed successfully." in the log
    log_path: str
    diverged_gtid: str = ""      # dead master's gtid_binlog_pos before the kill (divergence runs)
    new_master_gtid: str = ""    # new master's gtid_binlog_pos before the kill


def _gen_password() -> str:
    alphabet = string.ascii_letters + string.digits  # shell- and MHA-config-safe
    return "".join(secrets.choice(alphabet) for _ in range(24))


def _check_account_value(what: str, value: str) -> None:
    """Refuses what MHA 0.58's app config cannot carry intact (Config::Tiny and MHA::Config, see
    tests/integration/test_hostile_values.py): a line break ends the value, surrounding whitespace
    is trimmed, whitespace-';'-whitespace starts a comment, a trailing quote (and a leading one with it) is
    stripped; MHA treats an empty value or "0" as unset."""
    if (not value or value == "0" or any(c in value for c in "\r\n\0") or value != value.strip()
            or re.search(r"\s;\s", value) or value[-1] in "'\""):
        raise LabError(f"accounts: the {what} cannot be written into MHA's app config intact")


def _cnf_value(value: str) -> str:
    """A value for a MariaDB option file: quoted (so '#' is no comment), backslashes doubled."""
    q = "'" if '"' in value else '"'
    return q + value.replace("\\", "\\\\") + q


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _python_for_wrappers() -> str:
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


class Lab:
    """One lab directory. `Lab(dir)` attaches to it; `up()` builds and starts it; `down()` stops
    everything it started. Context manager: `with Lab(dir) as lab:` runs up() and down()."""

    def __init__(self, directory: os.PathLike | str = DEFAULT_DIR, verbose: bool = False,
                 accounts: Optional[dict[str, dict[str, str]]] = None):
        """`accounts` (optional, for `up`) chooses account names and passwords, e.g.
        {"admin": {"user": "...", "password": "..."}, "repl": {"password": "..."}}; what is not
        given keeps its default (ACCOUNTS; a generated password). Without it, a Lab attaching to an
        existing directory takes the account names from its lab.json (the bin/ wrappers do that)."""
        d = Path(directory).absolute()
        if any(c not in string.ascii_letters + string.digits + "_./-" for c in str(d)):
            # MHA pastes these paths into shell command lines unquoted.
            raise LabError(f"lab directory {d} must contain only letters, digits and _./-")
        self.dir = d
        self.marker = str(d) + "/"  # every lab process's argv mentions a path under the dir
        self.verbose = verbose
        self.hosts = {h.name: h for h in HOSTS}
        self.accounts: dict[str, str] = dict(ACCOUNTS)
        self._given_passwords: dict[str, str] = {}
        if accounts:
            for key, spec in accounts.items():
                if key not in ACCOUNTS or not set(spec) <= {"user", "password"}:
                    raise LabError(f"accounts: unknown account {key!r} or setting {sorted(spec)} "
                                   f"(accounts {sorted(ACCOUNTS)}, settings user/password)")
                for what, value in spec.items():
                    _check_account_value(f"{key} {what}", value)
                self.accounts[key] = spec.get("user", ACCOUNTS[key])
                if "password" in spec:
                    self._given_passwords[key] = spec["password"]
        else:
            try:
                saved = json.loads((d / "lab.json").read_text()).get("accounts") or {}
                self.accounts.update({k: v for k, v in saved.items() if k in ACCOUNTS and isinstance(v, str)})
            except (OSError, ValueError):
                pass
        self._children: dict[int, subprocess.Popen] = {}
        self._exit_codes: dict[int, int] = {}
        self._auto_down = True

    # ---- context manager ----------------------------------------------------------------------
    def __enter__(self) -> "Lab":
        self.up()
        return self

    def __exit__(self, *exc) -> None:
        if self._auto_down:
            self.down()

    # ---- paths --------------------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        return self.dir.joinpath(*parts)

    @property
    def mha_conf(self) -> Path:
        return self.path("mha", f"{APP_NAME}.cnf")

    @property
    def mha_workdir(self) -> Path:
        return self.path("mha", "work")

    @property
    def manager_log(self) -> Path:
        return self.path("mha", "manager.log")

    @property
    def failover_flag(self) -> Path:
        return self.mha_workdir / f"{APP_NAME}.failover.complete"

    @property
    def failover_error_file(self) -> Path:
        return self.mha_workdir / f"{APP_NAME}.failover.error"

    @property
    def health_file(self) -> Path:
        return self.mha_workdir / f"{APP_NAME}.master_status.health"

    @property
    def perl5(self) -> Path:
        return self.path("perl5")

    @property
    def client_key(self) -> Path:
        return self.path("ssh", "id_ed25519")

    @property
    def known_hosts(self) -> Path:
        return self.path("known_hosts")

    def bin(self, name: str) -> Path:
        """Generated argv-ready commands: start-db, stop-db, kill-db, manager-start, manager-stop, lab."""
        return self.path("bin", name)

    def secret_file(self, account: str) -> Path:
        """A 0600 file holding only the account's password (for configs that take a password file)."""
        return self.path("secrets", f"{account}.password")

    def client_cnf(self, account: str) -> Path:
        """A 0600 option file ([client] user/password) for `mariadb --defaults-file=...`."""
        return self.path("secrets", f"{account}.cnf")

    def db_dir(self, name: str) -> Path:
        return self.path(name)

    def socket(self, name: str) -> Path:
        return self.path(name, "mysqld.sock")

    def binlog_dir(self, name: str) -> Path:
        return self.path(name, "data")

    def pidfile(self, what: str) -> Path:
        return self.path("run", f"{what}.pid")

    def host(self, name_or_ip: str) -> Host:
        for h in HOSTS:
            if name_or_ip in (h.name, h.ip):
                return h
        raise LabError(f"unknown lab host {name_or_ip!r} (known: db1/{HOSTS[0].ip}, db2/{HOSTS[1].ip})")

    def other(self, name: str) -> Host:
        n = self.host(name).name
        return next(h for h in HOSTS if h.name != n)

    # ---- small utilities ----------------------------------------------------------------------
    def log(self, msg: str) -> None:
        if self.verbose:
            print(f"[lab {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def password(self, account: str) -> str:
        text = self.secret_file(account).read_text(encoding="utf-8")
        return text[:-1] if text.endswith("\n") else text

    def mha_env(self, perl5lib: Optional[str] = None) -> dict[str, str]:
        """Environment for MHA tools: a clean PATH and the fixed modules first in PERL5LIB."""
        return {"PATH": STD_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C",
                "PERL5LIB": str(self.perl5) if perl5lib is None else perl5lib}

    def _base_env(self) -> dict[str, str]:
        return {"PATH": STD_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C",
                "MHAFB_LAB_IPS": f"{HOSTS[0].ip},{HOSTS[1].ip}"}

    def _track(self, proc: subprocess.Popen) -> None:
        self._children[proc.pid] = proc

    def _poll_children(self) -> None:
        for pid, proc in list(self._children.items()):
            if proc.poll() is not None:
                self._children.pop(pid, None)
                self._exit_codes[pid] = proc.returncode

    def _alive(self, pidfile_name: str) -> Optional[int]:
        self._poll_children()
        return lab_proc.running_pid(self.pidfile(pidfile_name), self.marker)

    def _write_json(self, path: Path, data: dict) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)

    def info(self) -> dict:
        p = self.path("lab.json")
        return json.loads(p.read_text()) if p.exists() else {}

    # ---- SQL ----------------------------------------------------------------------------------
    def connect(self, host: str, account: str = "admin", timeout: float = 2.0,
                read_timeout: float = 30.0, database: Optional[str] = None):
        """A pymysql connection (autocommit) to a lab server over TCP as `account`."""
        h = self.host(host)
        return pymysql.connect(host=h.ip, port=h.db_port, user=self.accounts[account],
                               password=self.password(account).encode("utf-8"), connect_timeout=timeout,
                               read_timeout=read_timeout, write_timeout=read_timeout,
                               autocommit=True, database=database)

    def sql(self, host: str, query: str, args=None, account: str = "admin") -> list[dict]:
        """Runs one statement; returns its rows as dicts (empty for statements without a result)."""
        with closing(self.connect(host, account)) as conn, conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute(query, args)
            return list(cur.fetchall()) if cur.description else []

    def sql_value(self, host: str, query: str, args=None, account: str = "admin"):
        rows = self.sql(host, query, args, account)
        return next(iter(rows[0].values())) if rows else None

    def _root_socket(self, name: str):
        # Only during `up`: mariadb-install-db's root@localhost has an empty password until the
        # setup turns it into unix_socket-only.
        return pymysql.connect(unix_socket=str(self.socket(name)), user="root", password="",
                               connect_timeout=2, autocommit=True)

    def is_writable(self, host: str) -> bool:
        return int(self.sql_value(host, "SELECT @@global.read_only")) == 0

    def slave_status(self, host: str) -> dict:
        rows = self.sql(host, "SHOW SLAVE STATUS")
        return rows[0] if rows else {}

    def gtid_binlog_pos(self, host: str) -> str:
        return str(self.sql_value(host, "SELECT @@global.gtid_binlog_pos") or "")

    def wait_replica_synced(self, replica: str, master: str, timeout: float = 30.0) -> None:
        """Waits until `replica` applied everything `master` has binlogged (MASTER_GTID_WAIT works
        in file/position mode too: the SQL thread always maintains gtid_slave_pos)."""
        pos = self.gtid_binlog_pos(master)
        with closing(self.connect(replica, read_timeout=timeout + 5)) as conn, conn.cursor() as cur:
            cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (pos, timeout))
            (res,) = cur.fetchone()
        if int(res) != 0:
            raise LabError(f"{replica} did not reach {master}'s GTID position {pos} within {timeout:.0f} s "
                           f"(slave status: {self._slave_summary(replica)})")

    def _slave_summary(self, host: str) -> str:
        try:
            s = self.slave_status(host)
        except Exception as e:  # noqa: BLE001 - diagnostics only
            return f"unavailable ({e})"
        if not s:
            return "not a replica"
        keys = ("Master_Host", "Slave_IO_Running", "Slave_SQL_Running", "Using_Gtid", "Last_IO_Error",
                "Last_SQL_Error")
        return ", ".join(f"{k}={s.get(k)}" for k in keys)

    # ---- databases ----------------------------------------------------------------------------
    def _mariadbd_argv(self, name: str, read_only: bool) -> list[str]:
        h = self.host(name)
        d = self.db_dir(name)
        argv = [
            "/usr/sbin/mariadbd", "--no-defaults", "--user=root",
            f"--datadir={d / 'data'}", f"--socket={d / 'mysqld.sock'}", f"--pid-file={d / 'mysqld.pid'}",
            f"--log-error={d / 'error.log'}", f"--tmpdir={d / 'tmp'}",
            f"--bind-address={h.ip}", f"--port={h.db_port}", "--skip-name-resolve",
            f"--server-id={h.server_id}", "--log-bin=mysql-bin", "--relay-log=relay-bin",
            "--log-slave-updates", "--binlog-format=ROW", "--gtid-strict-mode=1",
            f"--report-host={h.ip}", f"--report-port={h.db_port}",
            "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M", "--performance-schema=0",
            "--max-connections=200",
        ]
        if read_only:
            argv.append("--read-only=1")
        return argv

    def _install_db(self, name: str) -> None:
        d = self.db_dir(name)
        (d / "tmp").mkdir(parents=True, exist_ok=True)
        rc, out = lab_proc.run(
            ["/usr/bin/mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={d / 'data'}",
             "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
             "--innodb-log-file-size=16M", "--innodb-buffer-pool-size=32M",
             # Its own tmpdir: in the shared /tmp, two labs set up at once collided on '#sql-temptable-*'.
             f"--tmpdir={d / 'tmp'}"],
            self._base_env(), timeout=120, pidfile=self.pidfile(f"install-{name}"))
        (d / "install-db.log").write_text(out)
        if rc != 0:
            raise LabError(f"mariadb-install-db for {name} failed (rc {rc}); see {d / 'install-db.log'}")

    def db_running(self, name: str) -> Optional[int]:
        """The PID of the host's mariadbd if it runs."""
        return self._alive(self.host(name).name)

    def start_db(self, name: str, read_only: bool = False, timeout: float = 60.0,
                 bootstrap: bool = False) -> int:
        """Starts the host's mariadbd (detached) unless it runs; returns once it answers SQL."""
        h = self.host(name)
        pid = self.db_running(h.name)
        if pid is None:
            if lab_proc.tcp_open(h.ip, h.db_port):
                raise LabError(f"{h.ip}:{h.db_port} is already taken by a process this lab did not start")
            proc = lab_proc.spawn_detached(self._mariadbd_argv(h.name, read_only), self.pidfile(h.name),
                                           self.db_dir(h.name) / "mariadbd.out", self._base_env())
            self._track(proc)
            pid = proc.pid
            self.log(f"started mariadbd {h.name} pid {pid}")
        deadline = time.monotonic() + timeout
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            if not lab_proc.alive(pid):
                raise LabError(f"mariadbd {h.name} exited during startup; see {self.db_dir(h.name) / 'error.log'}")
            try:
                conn = self._root_socket(h.name) if bootstrap else self.connect(h.name, timeout=1)
                conn.close()
                return pid
            except pymysql.err.MySQLError as e:
                last_err = e
                time.sleep(0.03)
        raise LabError(f"mariadbd {h.name} not ready after {timeout:.0f} s ({last_err})")

    def stop_db(self, name: str, timeout: float = 60.0) -> bool:
        """Clean shutdown (SIGTERM, SIGKILL after `timeout`). True if it was running."""
        return lab_proc.stop_pidfile(self.pidfile(self.host(name).name), self.marker, term_timeout=timeout)

    def kill_db(self, name: str) -> bool:
        """SIGKILL: the crash MHA fails over from. True if it was running."""
        return lab_proc.stop_pidfile(self.pidfile(self.host(name).name), self.marker, sig=signal.SIGKILL)

    # ---- sshd ---------------------------------------------------------------------------------
    def _sshd_conf(self, name: str) -> Path:
        return self.path("ssh", f"sshd-{name}.conf")

    def _write_sshd_files(self) -> None:
        ssh = self.path("ssh")
        ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
        jobs = [["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mhafb-lab-client",
                 "-f", str(self.client_key)]]
        for h in HOSTS:
            jobs.append(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"mhafb-lab-{h.name}",
                         "-f", str(ssh / f"host-{h.name}_ed25519")])
        procs = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, env=self._base_env(), text=True) for argv in jobs]
        for proc in procs:
            out, _ = proc.communicate(timeout=60)
            if proc.returncode != 0:
                raise LabError(f"ssh-keygen failed: {out.strip()}")
        pub = self.client_key.with_suffix(".pub").read_text().strip()
        (ssh / "authorized_keys").write_text(pub + "\n")
        os.chmod(ssh / "authorized_keys", 0o600)
        lines = []
        for h in HOSTS:
            key = (ssh / f"host-{h.name}_ed25519.pub").read_text().split()
            lines.append(f"[{h.ip}]:{h.ssh_port} {key[0]} {key[1]}")
        self.known_hosts.write_text("\n".join(lines) + "\n")
        for h in HOSTS:
            self._sshd_conf(h.name).write_text("\n".join([
                f"# sshd of lab host {h.name} (generated)",
                f"ListenAddress {h.ip}:{h.ssh_port}",
                f"HostKey {ssh / f'host-{h.name}_ed25519'}",
                f"PidFile {ssh / f'sshd-{h.name}.self.pid'}",
                f"AuthorizedKeysFile {ssh / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                # /tmp is world-writable: StrictModes would reject keys under it.
                "StrictModes no",
                "PrintMotd no",
                "PrintLastLog no",
                "X11Forwarding no",
                "AllowTcpForwarding no",
                "AllowAgentForwarding no",
                "MaxStartups 100:30:200",
                "Subsystem sftp /usr/lib/openssh/sftp-server",
                # Node tools run over SSH must load the fixed MHA modules.
                f"SetEnv PERL5LIB={self.perl5}",
                "",
            ]))

    def sshd_running(self, name: str) -> Optional[int]:
        return self._alive(f"sshd-{self.host(name).name}")

    def start_sshd(self, name: str, timeout: float = 10.0) -> int:
        h = self.host(name)
        pid = self.sshd_running(h.name)
        if pid is not None:
            return pid
        if lab_proc.tcp_open(h.ip, h.ssh_port):
            raise LabError(f"{h.ip}:{h.ssh_port} is already taken by a process this lab did not start")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir, harmless
        proc = lab_proc.spawn_detached(
            ["/usr/sbin/sshd", "-D", "-f", str(self._sshd_conf(h.name)), "-E",
             str(self.path("ssh", f"sshd-{h.name}.log"))],
            self.pidfile(f"sshd-{h.name}"), self.path("ssh", f"sshd-{h.name}.out"), self._base_env())
        self._track(proc)
        if not lab_proc.wait_tcp(h.ip, h.ssh_port, timeout, proc.pid):
            raise LabError(f"sshd {h.name} did not listen on {h.ip}:{h.ssh_port}; see "
                           f"{self.path('ssh', f'sshd-{h.name}.log')}")
        self.log(f"started sshd {h.name} pid {proc.pid}")
        return proc.pid

    def stop_sshd(self, name: str) -> bool:
        return lab_proc.stop_pidfile(self.pidfile(f"sshd-{self.host(name).name}"), self.marker, term_timeout=5)

    def ssh_argv(self, name: str, *command: str) -> list[str]:
        """argv for running `command` on a lab host over its sshd, as root, with the lab's key."""
        h = self.host(name)
        return ["/usr/bin/ssh", "-i", str(self.client_key), "-o", "IdentitiesOnly=yes", "-o",
                f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes", "-o",
                "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", str(h.ssh_port), f"root@{h.ip}", *command]

    # ---- MHA ----------------------------------------------------------------------------------
    def ssh_options(self) -> str:
        return (f"-i {self.client_key} -o IdentitiesOnly=yes -o UserKnownHostsFile={self.known_hosts} "
                f"-o StrictHostKeyChecking=yes")

    def _write_mha_files(self) -> None:
        lab_mha.write_fixed_modules(self.perl5 / "MHA")
        self.mha_workdir.mkdir(parents=True, exist_ok=True)
        servers = []
        for h in HOSTS:
            remote = self.path("mha", "remote", h.name)
            remote.mkdir(parents=True, exist_ok=True)
            servers.append({"ip": h.ip, "port": h.db_port, "binlog_dir": str(self.binlog_dir(h.name)),
                            "remote_workdir": str(remote)})
        _write_private(self.mha_conf, lab_mha.app_config_text(
            workdir=self.mha_workdir, manager_log=self.manager_log, user=self.accounts["admin"],
            password=self.password("admin"), repl_user=self.accounts["repl"], repl_password=self.password("repl"),
            ssh_port=SSH_PORT, ssh_options=self.ssh_options(), servers=servers))

    def run_tool(self, argv: list[str], timeout: float = 300.0, env: Optional[dict] = None) -> tuple[int, str]:
        """Runs an MHA tool with the lab's environment; returns (exit code, combined output)."""
        return lab_proc.run(argv, env or self.mha_env(), timeout=timeout)

    def check_ssh(self, env: Optional[dict] = None) -> tuple[bool, int, str]:
        rc, out = self.run_tool(["/usr/bin/masterha_check_ssh", f"--conf={self.mha_conf}"], 120, env)
        return lab_mha.check_ssh_ok(out), rc, out

    def check_repl(self, env: Optional[dict] = None) -> tuple[bool, int, str]:
        rc, out = self.run_tool(["/usr/bin/masterha_check_repl", f"--conf={self.mha_conf}"], 180, env)
        return lab_mha.check_repl_ok(rc, out), rc, out

    def check_status(self) -> tuple[int, str]:
        return self.run_tool(["/usr/bin/masterha_check_status", f"--conf={self.mha_conf}"], 60)

    def master_switch_alive(self, new_master: str = "db1", extra: tuple[str, ...] = ()) -> tuple[int, str]:
        """masterha_master_switch --master_state=alive to `new_master`, old master becomes its slave."""
        h = self.host(new_master)
        return self.run_tool(["/usr/bin/masterha_master_switch", "--master_state=alive",
                              f"--conf={self.mha_conf}", f"--new_master_host={h.ip}",
                              f"--new_master_port={h.db_port}", "--orig_master_is_new_slave",
                              "--interactive=0", *extra], 300)

    def master_switch_dead(self, dead: str = "db1", new: Optional[str] = None,
                           extra: tuple[str, ...] = ()) -> tuple[int, str]:
        d = self.host(dead)
        argv = ["/usr/bin/masterha_master_switch", "--master_state=dead", f"--conf={self.mha_conf}",
                f"--dead_master_host={d.ip}", f"--dead_master_ip={d.ip}", f"--dead_master_port={d.db_port}",
                "--interactive=0"]
        if new:
            n = self.host(new)
            argv += [f"--new_master_host={n.ip}", f"--new_master_port={n.db_port}"]
        return self.run_tool(argv + list(extra), 600)

    def health(self) -> Optional[dict]:
        try:
            return lab_mha.parse_health(self.health_file.read_text())
        except FileNotFoundError:
            return None

    def manager_running(self) -> Optional[int]:
        return self._alive("manager")

    def manager_start(self, wait: bool = True, timeout: float = 90.0) -> int:
        """Starts masterha_manager detached (own session, output appended to the manager log,
        PERL5LIB set) unless it runs; with `wait`, returns once the health file says PING_OK."""
        pid = self.manager_running()
        if pid is None:
            proc = lab_proc.spawn_detached(["/usr/bin/masterha_manager", f"--conf={self.mha_conf}"],
                                           self.pidfile("manager"), self.manager_log, self.mha_env())
            self._track(proc)
            pid = proc.pid
            self.log(f"started masterha_manager pid {pid}")
        if not wait:
            return pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not lab_proc.alive(pid):
                raise LabError(f"masterha_manager exited during startup; see {self.manager_log}: "
                               + self._log_tail(self.manager_log, 5))
            hl = self.health()
            if hl and hl.get("pid") == pid and hl.get("code") == 0:
                return pid
            time.sleep(0.1)
        raise LabError(f"masterha_manager not PING_OK after {timeout:.0f} s (health: {self.health()})")

    def manager_stop(self, timeout: float = 30.0, abort: bool = False) -> bool:
        """Stops the manager (SIGTERM to its group, SIGKILL after `timeout`). Like masterha_stop it
        refuses while a failover runs, unless `abort`. True if it was running."""
        pid = self.manager_running()
        if pid is None:
            self.pidfile("manager").unlink(missing_ok=True)
            return False
        hl = self.health()
        if hl and hl.get("pid") == pid and hl.get("code") == 50 and not abort:
            raise LabError("a failover is running in the manager; refusing to stop it (use abort)")
        return lab_proc.stop_pidfile(self.pidfile("manager"), self.marker, term_timeout=timeout)

    def manager_wait_exit(self, timeout: float = 180.0) -> Optional[int]:
        """Waits for the manager to exit; returns its exit code when this Lab started it, else None."""
        pid = lab_proc.read_pid(self.pidfile("manager"))
        if pid is None:
            return None
        proc = self._children.get(pid)
        if proc is not None:
            try:
                return proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise LabError(f"masterha_manager still running after {timeout:.0f} s") from None
        if not lab_proc.wait_gone(pid, timeout, self.marker):
            raise LabError(f"masterha_manager still running after {timeout:.0f} s")
        return self._exit_codes.get(pid)

    @staticmethod
    def _log_tail(path: Path, n: int) -> str:
        try:
            return " | ".join(path.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return "(no log)"

    # ---- up / down ----------------------------------------------------------------------------
    def _prepare_dir(self) -> None:
        if self.dir.exists():
            if not self.path("lab.json").exists() and any(self.dir.iterdir()):
                raise LabError(f"{self.dir} exists and is not a lab directory; refusing to replace it")
            self.down()
            shutil.rmtree(self.dir)
        for sub in ("run", "secrets", "bin", "mha", "writer"):
            self.path(sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.path("secrets"), 0o700)
        for account, user in self.accounts.items():
            pw = self._given_passwords.get(account) or _gen_password()
            _write_private(self.secret_file(account), pw + "\n")
            _write_private(self.client_cnf(account),
                           f"[client]\nuser={_cnf_value(user)}\npassword={_cnf_value(pw)}\n")

    def _setup_master_sql(self, name: str) -> None:
        """Accounts, the `lab` schema and root lockdown on the initial master, all binlogged so the
        replica gets them by replication and both start from one GTID history."""
        q = ACCOUNT_HOST
        with closing(self._root_socket(name)) as conn, conn.cursor() as cur:
            cur.execute("SELECT User, Host FROM mysql.user WHERE NOT (User='root' AND Host='localhost') "
                        "AND User <> 'mariadb.sys'")
            for user, host in cur.fetchall():
                cur.execute("DROP USER IF EXISTS %s@%s", (user, host))
            admin, repl, app = self.accounts["admin"], self.accounts["repl"], self.accounts["app"]
            cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (admin, q, self.password("admin")))
            cur.execute("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (admin, q))
            cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (repl, q, self.password("repl")))
            cur.execute("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO %s@%s", (repl, q))
            cur.execute("CREATE DATABASE lab")
            cur.execute("CREATE TABLE lab.writes (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, "
                        "written_to VARCHAR(32) NOT NULL, "
                        "written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB")
            cur.execute("CREATE TABLE lab.diverge (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                        "note VARCHAR(64) NOT NULL) ENGINE=InnoDB")
            cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (app, q, self.password("app")))
            cur.execute("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, "
                        "CREATE TEMPORARY TABLES ON lab.* TO %s@%s", (app, q))
            cur.execute("ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket")

    def _setup_replica_sql(self, name: str, master: str) -> None:
        m = self.host(master)
        with closing(self._root_socket(name)) as conn, conn.cursor() as cur:
            # Close the passwordless TCP root accounts at once; the master's binlogged DROP USER IF
            # EXISTS then finds nothing to do here.
            cur.execute("SET SESSION sql_log_bin=0")
            cur.execute("SELECT User, Host FROM mysql.user WHERE NOT (User='root' AND Host='localhost') "
                        "AND User <> 'mariadb.sys'")
            for user, host in cur.fetchall():
                cur.execute("DROP USER IF EXISTS %s@%s", (user, host))
            cur.execute("SET GLOBAL read_only=1")
            cur.execute("CHANGE MASTER TO master_host=%s, master_port=%s, master_user=%s, master_password=%s, "
                        "master_use_gtid=slave_pos, master_connect_retry=1",
                        (m.ip, m.db_port, self.accounts["repl"], self.password("repl")))
            cur.execute("START SLAVE")

    def _write_wrappers(self) -> None:
        py = _python_for_wrappers()
        for name, sub in (("start-db", "start-db"), ("stop-db", "stop-db"), ("kill-db", "kill-db"),
                          ("manager-start", "manager-start"), ("manager-stop", "manager-stop"),
                          ("lab", None)):
            head = f"[{sub!r}, '--dir', {str(self.dir)!r}] + sys.argv[1:]" if sub else \
                f"sys.argv[1:2] + ['--dir', {str(self.dir)!r}] + sys.argv[2:]"
            text = (f"#!{py}\n"
                    f"# Generated by the mha-failback lab for {self.dir}: argv-ready entry point.\n"
                    f"import os\nimport sys\nsys.path.insert(0, {str(_HERE)!r})\n"
                    # Over SSH the caller's environment is gone: the lab's addresses go with the wrapper.
                    f"os.environ['MHAFB_LAB_IPS'] = {HOSTS[0].ip + ',' + HOSTS[1].ip!r}\nimport lab\n"
                    f"sys.exit(lab.main({head}))\n")
            p = self.bin(name)
            p.write_text(text)
            os.chmod(p, 0o755)

    def up(self, check_mha: bool = True) -> dict[str, float]:
        """Builds the lab from scratch and starts it; verifies SSH and replication through MHA's own
        checks unless `check_mha` is False. Returns step timings in seconds. On failure everything
        started so far is stopped again and the error is raised."""
        t0 = time.monotonic()
        timings: dict[str, float] = {}
        try:
            self._prepare_dir()
            self._write_json(self.path("lab.json"), {
                "dir": str(self.dir), "app": APP_NAME, "mha_conf": str(self.mha_conf),
                "hosts": [asdict(h) for h in HOSTS], "accounts": self.accounts, "lab_py": str(Path(__file__).resolve()),
                "state": "starting", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            errors: list[BaseException] = []

            def job(fn: Callable[[], None]) -> threading.Thread:
                def wrapped():
                    try:
                        fn()
                    except BaseException as e:  # noqa: BLE001 - re-raised below
                        errors.append(e)
                th = threading.Thread(target=wrapped)
                th.start()
                return th

            def db_job(name: str) -> Callable[[], None]:
                def fn():
                    self.start_db(name, bootstrap=True)
                    timings[f"{name}_started"] = time.monotonic() - t0
                return fn

            def install_job():
                # One bootstrap, copied: halves the CPU `up` needs (MariaDB keeps no per-server
                # identity in a fresh datadir; server_id and report_host come from argv).
                self._install_db("db1")
                (self.db_dir("db2") / "tmp").mkdir(parents=True, exist_ok=True)
                shutil.copytree(self.binlog_dir("db1"), self.binlog_dir("db2"), symlinks=True)
                timings["datadirs_installed"] = time.monotonic() - t0
                dbs = [job(db_job(h.name)) for h in HOSTS]
                for th in dbs:
                    th.join()

            def ssh_job():
                self._write_sshd_files()
                timings["ssh_keys"] = time.monotonic() - t0
                for h in HOSTS:
                    self.start_sshd(h.name)
                timings["sshd_started"] = time.monotonic() - t0

            threads = [job(install_job), job(ssh_job)]
            for th in threads:
                th.join()
            if errors:
                raise errors[0]
            timings["servers_started"] = time.monotonic() - t0
            self._setup_master_sql("db1")
            self._setup_replica_sql("db2", "db1")
            self._write_mha_files()
            self._write_wrappers()
            # The replica has the master's accounts (and root lockdown) once it caught up.
            deadline = time.monotonic() + 30
            while True:
                try:
                    self.wait_replica_synced("db2", "db1", timeout=10)
                    break
                except (pymysql.err.MySQLError, LabError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self.wait_replica_running("db2", timeout=30)
            timings["replication_ready"] = time.monotonic() - t0
            if check_mha:
                self.verify_mha()
                timings["mha_checks_done"] = time.monotonic() - t0
            info = self.info()
            info["state"] = "up"
            self._write_json(self.path("lab.json"), info)
        except BaseException:
            self.down()
            raise
        timings["total"] = time.monotonic() - t0
        return timings

    def verify_mha(self) -> None:
        """masterha_check_ssh (judged by its text) and masterha_check_repl, run in parallel."""
        res: dict[str, tuple[bool, int, str]] = {}
        th = threading.Thread(target=lambda: res.__setitem__("ssh", self.check_ssh()))
        th.start()
        res["repl"] = self.check_repl()
        th.join()
        logs = self.path("log")
        logs.mkdir(exist_ok=True)
        (logs / "up-check_ssh.log").write_text(res["ssh"][2])
        (logs / "up-check_repl.log").write_text(res["repl"][2])
        if not res["ssh"][0]:
            raise LabError(f"masterha_check_ssh failed; see {logs / 'up-check_ssh.log'}")
        if not res["repl"][0]:
            raise LabError(f"masterha_check_repl is not OK; see {logs / 'up-check_repl.log'}")

    def down(self, remove: bool = False) -> float:
        """Stops every process this lab started (writer, manager, sshds, mariadbds) by its PID file,
        with overlapping shutdowns; works after a partial up or a crash. Returns seconds taken."""
        t0 = time.monotonic()
        if self.dir.exists():
            stop = self.path("writer", "stop")
            if self.path("writer").exists() and self._alive("writer"):
                stop.touch()
            run_dir = self.path("run")
            names = ["writer", "manager"] + [f"sshd-{h.name}" for h in HOSTS] + [h.name for h in HOSTS]
            extra = sorted(p.stem for p in run_dir.glob("*.pid")) if run_dir.exists() else []
            order = names + [n for n in extra if n not in names]
            lab_proc.stop_many([(self.pidfile(n), self.marker) for n in order], term_timeout=30)
            self._poll_children()
            if self.path("lab.json").exists():
                info = self.info()
                info["state"] = "down"
                self._write_json(self.path("lab.json"), info)
            if remove:
                shutil.rmtree(self.dir, ignore_errors=True)
        return time.monotonic() - t0

    def processes(self) -> dict[str, Optional[int]]:
        """PID of every lab process that runs now (None when not running)."""
        out = {}
        for n in ["writer", "manager"] + [f"sshd-{h.name}" for h in HOSTS] + [h.name for h in HOSTS]:
            out[n] = self._alive(n)
        return out

    # ---- scenarios ----------------------------------------------------------------------------
    def failover(self, mode: str = "manager", dead: str = "db1", ssh_down: bool = False,
                 diverge_rows: int = 0, timeout: float = 240.0) -> FailoverResult:
        """A real MHA failover from `dead` (the current master) to the other host.

        mode "manager": masterha_manager runs (started if needed), the master's mariadbd gets
        SIGKILL, and the manager detects, fails over and exits by itself.
        mode "switch": masterha_master_switch --master_state=dead --interactive=0 after the kill.
        ssh_down: the dead host's sshd is stopped first (MHA cannot save its binlogs).
        diverge_rows: the replica's IO thread is stopped and that many rows are committed on the
        master only, so the dead master holds transactions the new master never gets."""
        d, n = self.host(dead), self.other(dead)
        if mode not in ("manager", "switch"):
            raise LabError("mode must be 'manager' or 'switch'")
        if mode == "manager":
            self.manager_start()
        elif self.manager_running():
            raise LabError("masterha_manager runs; stop it before a master_switch failover")
        log_start = self.manager_log.stat().st_size if self.manager_log.exists() else 0
        flag_before = self.failover_flag.stat().st_mtime_ns if self.failover_flag.exists() else None
        diverged = new_gtid = ""
        if diverge_rows:
            self.wait_replica_synced(n.name, d.name)
            self.sql(n.name, "STOP SLAVE IO_THREAD")
            for i in range(diverge_rows):
                self.sql(d.name, "INSERT INTO lab.diverge (note) VALUES (%s)", (f"only-on-{d.name}-{i}",))
            diverged = self.gtid_binlog_pos(d.name)
            new_gtid = self.gtid_binlog_pos(n.name)
        if ssh_down:
            self.stop_sshd(d.name)
        t0 = time.monotonic()
        self.kill_db(d.name)
        self.log(f"killed mariadbd {d.name}; failover by {mode}")
        if mode == "manager":
            rc = self.manager_wait_exit(timeout)
            log_path = self.manager_log
            text = self.manager_log.read_text(errors="replace")[log_start:]
        else:
            rc, text = self.master_switch_dead(d.name, n.name)
            log_path = self.path("log", "master_switch-dead.log")
            log_path.parent.mkdir(exist_ok=True)
            log_path.write_text(text)
        seconds = time.monotonic() - t0
        try:
            writable = self.is_writable(n.name)
        except pymysql.err.MySQLError:
            writable = False
        return FailoverResult(
            mode=mode, dead=d.name, new=n.name, rc=rc, seconds=round(seconds, 3),
            flag_exists=self.failover_flag.exists(),
            flag_written=self.failover_flag.exists() and self.failover_flag.stat().st_mtime_ns != flag_before,
            new_master_writable=writable,
            dead_master_ssh_reachable="is not SSH reachable" not in text,
            completed_text=f"Master failover to {n.ip}({n.ip}:{n.db_port}) completed successfully." in text,
            log_path=str(log_path), diverged_gtid=diverged, new_master_gtid=new_gtid)

    def rejoin_gtid(self, old_master: str = "db1", timeout: float = 60.0) -> None:
        """The correct rejoin (FIELD-NOTES): start the old master read-only and make it a GTID
        replica of the other host from its own gtid_binlog_pos. Loses nothing; refuses (error
        1236 from the master) if the old master diverged."""
        o, m = self.host(old_master), self.other(old_master)
        self.start_db(o.name, read_only=True)
        self.sql(o.name, "SET GLOBAL read_only=1")
        self.sql(o.name, "STOP SLAVE")
        self.sql(o.name, "SET GLOBAL gtid_slave_pos=@@GLOBAL.gtid_binlog_pos")
        with closing(self.connect(o.name)) as conn, conn.cursor() as cur:
            cur.execute("CHANGE MASTER TO master_host=%s, master_port=%s, master_user=%s, master_password=%s, "
                        "master_use_gtid=slave_pos, master_connect_retry=1",
                        (m.ip, m.db_port, self.accounts["repl"], self.password("repl")))
        self.sql(o.name, "START SLAVE")
        self.wait_replica_running(o.name, timeout)
        self.wait_replica_synced(o.name, m.name, timeout)

    def wait_replica_running(self, replica: str, timeout: float = 30.0) -> None:
        """Waits for both replication threads to run; raises with the replica's error (e.g. 1236
        for a diverged old master) if either stops. A GTID wait alone would pass on a diverged
        replica: its gtid_slave_pos is already *ahead* of the master in the same domain."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.slave_status(replica)
            if s.get("Last_IO_Errno") or s.get("Last_SQL_Errno"):
                raise LabError(f"replication on {replica} failed: {s.get('Last_IO_Error') or s.get('Last_SQL_Error')}")
            if s.get("Slave_IO_Running") == "Yes" and s.get("Slave_SQL_Running") == "Yes":
                return
            if time.monotonic() > deadline:
                raise LabError(f"replication on {replica} not running after {timeout:.0f} s "
                               f"({self._slave_summary(replica)})")
            time.sleep(0.05)

    def runbook(self, old_master: str = "db1", log_dir: Optional[Path] = None) -> dict:
        from lab_runbook import run_runbook
        return run_runbook(self, old_master, log_dir)

    # ---- load client --------------------------------------------------------------------------
    def writer_start(self, interval_ms: float = 10.0) -> int:
        """Starts the load client detached (see lab_writer.py); returns its PID."""
        pid = self._alive("writer")
        if pid:
            return pid
        wdir = self.path("writer")
        wdir.mkdir(exist_ok=True)
        for f in ("stop", "summary.json", "acks.txt"):
            (wdir / f).unlink(missing_ok=True)
        argv = [sys.executable, str(_HERE / "lab.py"), "writer", "--dir", str(self.dir),
                "--out", str(wdir), "--interval-ms", str(interval_ms)]
        env = self._base_env()
        proc = lab_proc.spawn_detached(argv, self.pidfile("writer"), wdir / "writer.log", env)
        self._track(proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (wdir / "started").exists():
            if not lab_proc.alive(proc.pid):
                raise LabError(f"writer exited at start; see {wdir / 'writer.log'}")
            time.sleep(0.02)
        return proc.pid

    def writer_stop(self, timeout: float = 30.0) -> dict:
        """Asks the writer to stop (stop file), waits, and returns its summary."""
        wdir = self.path("writer")
        pid = self._alive("writer")
        if pid:
            (wdir / "stop").touch()
            if not lab_proc.wait_gone(pid, timeout, self.marker):
                lab_proc.stop_pidfile(self.pidfile("writer"), self.marker)
        self._poll_children()
        self.pidfile("writer").unlink(missing_ok=True)
        s = wdir / "summary.json"
        return json.loads(s.read_text()) if s.exists() else {}

    def verify(self, server: str, acks: Optional[Path] = None, checksum_wait: float = 15.0) -> dict:
        from lab_writer import verify
        return verify(self, server, acks or self.path("writer", "acks.txt"), checksum_wait)

    # ---- the daemon's configuration ---------------------------------------------------------
    def daemon_config_dict(self, mode: str = "approve", state_dir: Optional[Path] = None,
                           stable_seconds: int = 2, overrides: Optional[dict] = None) -> dict:
        """mha-failbackd's JSON configuration for this lab (docs/CONFIGURATION.md): one cluster
        `app1` on the lab's MHA config, preferred master db1 (127.0.0.11), SSH with the lab's key
        and known_hosts, the lab's start-db / manager-start / manager-stop commands, the fixed MHA
        modules through mha_tool_env, passwords from the lab's 0600 files, short timers.
        `overrides` is merged into the cluster object key by key (nested objects merge too)."""
        cluster: dict = {
            "name": APP_NAME,
            "mha_conf": str(self.mha_conf),
            "preferred_master": self.host("db1").ip,
            "mode": mode,
            "admin": {"user": self.accounts["admin"], "password_file": str(self.secret_file("admin"))},
            "replication": {"user": self.accounts["repl"], "password_file": str(self.secret_file("repl"))},
            "ssh": {"user": "root", "identity_file": str(self.client_key),
                    "known_hosts": str(self.known_hosts), "connect_timeout_ms": 3000},
            "validation": {"max_lag_seconds": 5, "stable_seconds": stable_seconds, "run_mha_checks": True},
            "sql_error_policy": {"action": "block", "max_skips": 0},
            "timeouts": {"probe_interval_ms": 500, "sql_timeout_ms": 2000,
                         "old_master_return_seconds": 600, "database_start_seconds": 60,
                         "catch_up_seconds": 120, "switch_budget_seconds": 180,
                         "manager_restart_seconds": 90, "tool_seconds": 120},
            "commands": {
                # Run over SSH on the old master's host (db1's address, port 2222): detaches mariadbd
                # and returns once it answers SQL. Read-only, as a site's start command must start a
                # returning old master (docs/CONFIGURATION.md); the daemon fences it again anyway.
                "start_database": [str(self.bin("start-db")), "db1", "--read-only"],
                "manager_start": [str(self.bin("manager-start"))],
                "manager_stop": [str(self.bin("manager-stop"))],
                "companion_start": [],
                "companion_stop": [],
                "mha_tool_env": [f"PERL5LIB={self.perl5}"],
                "mha_bin_dir": "/usr/bin",
                "mysqlbinlog": "/usr/bin/mysqlbinlog",
            },
        }

        def merge(into: dict, extra: dict) -> None:
            for k, v in extra.items():
                if isinstance(v, dict) and isinstance(into.get(k), dict):
                    merge(into[k], v)
                else:
                    into[k] = v

        merge(cluster, overrides or {})
        return {"state_dir": str(state_dir or self.path("daemon", "state")), "log_level": "info",
                "clusters": [cluster]}

    def write_daemon_config(self, out: Optional[Path] = None, **kwargs) -> Path:
        """Writes daemon_config_dict(**kwargs) to `out` (default <dir>/daemon/mha-failback.json)
        and creates the state directory; returns the path. Holds no secret (only password files)."""
        cfg = self.daemon_config_dict(**kwargs)
        out = Path(out) if out else self.path("daemon", "mha-failback.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(cfg["state_dir"]).mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(cfg, indent=2) + "\n")
        os.replace(tmp, out)
        return out

    # ---- status -------------------------------------------------------------------------------
    def status(self) -> dict:
        out: dict = {"dir": str(self.dir), "processes": self.processes(), "servers": {}}
        for h in HOSTS:
            s: dict = {"ip": h.ip}
            if out["processes"][h.name]:
                try:
                    s["read_only"] = int(self.sql_value(h.name, "SELECT @@global.read_only"))
                    s["gtid_binlog_pos"] = self.gtid_binlog_pos(h.name)
                    ss = self.slave_status(h.name)
                    s["replica"] = {k: ss.get(k) for k in ("Master_Host", "Slave_IO_Running", "Slave_SQL_Running",
                                                           "Using_Gtid", "Last_IO_Error", "Last_SQL_Error")} if ss else None
                except pymysql.err.MySQLError as e:
                    s["error"] = str(e)
            out["servers"][h.name] = s
        out["health"] = self.health()
        out["failover_flag"] = self.failover_flag.exists()
        return out


# ---- CLI --------------------------------------------------------------------------------------

def _cmd_up(lab: Lab, a) -> int:
    t = lab.up(check_mha=not a.no_check)
    print(f"lab up in {t['total']:.2f} s at {lab.dir} (" + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()
                                                                   if k != "total") + ")")
    print(f"  db1 {HOSTS[0].ip}:{DB_PORT} (master)   db2 {HOSTS[1].ip}:{DB_PORT} (replica, read_only)   sshd port {SSH_PORT}")
    print(f"  MHA config {lab.mha_conf}; commands in {lab.path('bin')}")
    return 0


def _cmd_down(lab: Lab, a) -> int:
    s = lab.down(remove=a.remove)
    print(f"lab down in {s:.2f} s" + (" (directory removed)" if a.remove else ""))
    return 0


def _json_print(obj) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="lab.py", description=__doc__.split("\n\n")[0])
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--dir", default=str(DEFAULT_DIR), help=f"lab directory (default {DEFAULT_DIR})")
        return sp

    sp = add("up", "create the lab from scratch and start it")
    sp.add_argument("--no-check", action="store_true", help="skip masterha_check_ssh/_repl")
    sp = add("down", "stop everything the lab started")
    sp.add_argument("--remove", action="store_true", help="also remove the lab directory")
    add("status", "print processes, roles and replication state as JSON")
    for name, h in (("start-db", "start a host's mariadbd (returns when it answers SQL)"),
                    ("stop-db", "shut a host's mariadbd down cleanly"), ("kill-db", "SIGKILL a host's mariadbd"),
                    ("start-sshd", "start a host's sshd"), ("stop-sshd", "stop a host's sshd")):
        sp = add(name, h)
        sp.add_argument("host", help="db1, db2, 127.0.0.11 or 127.0.0.12")
        if name == "start-db":
            sp.add_argument("--read-only", action="store_true", help="start with read_only=1")
    sp = add("manager-start", "start masterha_manager detached; returns when it is PING_OK")
    sp.add_argument("--no-wait", action="store_true")
    sp = add("manager-stop", "stop masterha_manager (refuses during a failover unless --abort)")
    sp.add_argument("--abort", action="store_true")
    sp = add("failover", "kill the master and let MHA fail over")
    sp.add_argument("--mode", choices=("manager", "switch"), default="manager")
    sp.add_argument("--dead", default="db1")
    sp.add_argument("--ssh-down", action="store_true", help="stop the dead master's sshd first")
    sp.add_argument("--diverge", type=int, default=0, metavar="N",
                    help="commit N rows on the master that the replica never gets")
    sp = add("rejoin", "rejoin the old master as a GTID replica (the correct procedure)")
    sp.add_argument("--old-master", default="db1")
    sp = add("switch", "masterha_master_switch --master_state=alive to a host")
    sp.add_argument("--new-master", default="db1")
    add("check-ssh", "run masterha_check_ssh (verdict from its text)")
    add("check-repl", "run masterha_check_repl")
    add("check-status", "run masterha_check_status")
    sp = add("sql", "run one SQL statement as the admin account and print rows as JSON")
    sp.add_argument("host")
    sp.add_argument("query")
    sp.add_argument("--account", choices=tuple(ACCOUNTS), default="admin")
    sp = add("writer", "run the load client in the foreground until SIGTERM/SIGINT or the stop file")
    sp.add_argument("--interval-ms", type=float, default=10.0)
    sp.add_argument("--out", help="directory for acks.txt/summary.json (default <dir>/writer)")
    sp = add("writer-start", "start the load client detached")
    sp.add_argument("--interval-ms", type=float, default=10.0)
    add("writer-stop", "stop the detached load client and print its summary")
    sp = add("verify", "check every acknowledged id is on a server; compare CHECKSUM TABLE")
    sp.add_argument("server")
    sp.add_argument("--acks", help="acks file (default <dir>/writer/acks.txt)")
    sp = add("runbook", "run the runbook's verbatim failback procedure (the data-losing baseline)")
    sp.add_argument("--old-master", default="db1")
    sp = add("daemon-config", "write mha-failbackd's JSON configuration for this lab")
    sp.add_argument("--out", help="file to write (default <dir>/daemon/mha-failback.json)")
    sp.add_argument("--mode", choices=("observe", "approve", "auto"), default="approve")
    sp.add_argument("--state-dir", help="the daemon's state directory (default <dir>/daemon/state)")
    sp.add_argument("--stable-seconds", type=int, default=2, help="validation window (default 2)")
    sp.add_argument("--set", action="append", default=[], metavar="JSON",
                    help="a JSON object merged into the cluster, e.g. '{\"timeouts\": {\"catch_up_seconds\": 20}}'")
    sp = add("capture", "capture real MHA tool output into a directory (builds its own lab)")
    sp.add_argument("--out", required=True)

    a = p.parse_args(argv)
    lab = Lab(a.dir, verbose=a.verbose)
    try:
        return _dispatch(lab, a)
    except (LabError, pymysql.err.MySQLError, lab_mha.PatchError) as e:
        print(f"lab: {e}", file=sys.stderr)
        return 1


def _dispatch(lab: Lab, a) -> int:
    c = a.cmd
    if c == "up":
        return _cmd_up(lab, a)
    if c == "down":
        return _cmd_down(lab, a)
    if c == "status":
        _json_print(lab.status())
        return 0
    if c == "start-db":
        pid = lab.start_db(a.host, read_only=a.read_only)
        print(f"mariadbd {lab.host(a.host).name} running (pid {pid})")
        return 0
    if c == "stop-db":
        print(f"mariadbd {lab.host(a.host).name} " + ("stopped" if lab.stop_db(a.host) else "was not running"))
        return 0
    if c == "kill-db":
        print(f"mariadbd {lab.host(a.host).name} " + ("killed" if lab.kill_db(a.host) else "was not running"))
        return 0
    if c == "start-sshd":
        print(f"sshd {lab.host(a.host).name} running (pid {lab.start_sshd(a.host)})")
        return 0
    if c == "stop-sshd":
        print(f"sshd {lab.host(a.host).name} " + ("stopped" if lab.stop_sshd(a.host) else "was not running"))
        return 0
    if c == "manager-start":
        was = lab.manager_running()
        pid = lab.manager_start(wait=not a.no_wait)
        print(f"masterha_manager {'already ' if was else ''}running (pid {pid})")
        return 0
    if c == "manager-stop":
        print("masterha_manager " + ("stopped" if lab.manager_stop(abort=a.abort) else "was not running"))
        return 0
    if c == "failover":
        r = lab.failover(mode=a.mode, dead=a.dead, ssh_down=a.ssh_down, diverge_rows=a.diverge)
        _json_print(asdict(r))
        return 0 if r.flag_written and r.new_master_writable else 1
    if c == "rejoin":
        lab.rejoin_gtid(a.old_master)
        print(f"{lab.host(a.old_master).name} replicates from {lab.other(a.old_master).name} (GTID)")
        return 0
    if c == "switch":
        rc, out = lab.master_switch_alive(a.new_master)
        print(out, end="")
        return rc
    if c in ("check-ssh", "check-repl"):
        ok, rc, out = lab.check_ssh() if c == "check-ssh" else lab.check_repl()
        print(out, end="")
        print(f"[lab] verdict: {'OK' if ok else 'NOT OK'} (exit code {rc})")
        return 0 if ok else 1
    if c == "check-status":
        rc, out = lab.check_status()
        print(out, end="")
        return rc
    if c == "sql":
        _json_print(lab.sql(a.host, a.query, account=a.account))
        return 0
    if c == "writer":
        from lab_writer import run_writer
        out = Path(a.out) if a.out else lab.path("writer")
        summary = run_writer(lab, out, a.interval_ms)
        _json_print(summary)
        return 0
    if c == "writer-start":
        print(f"writer running (pid {lab.writer_start(a.interval_ms)})")
        return 0
    if c == "writer-stop":
        _json_print(lab.writer_stop())
        return 0
    if c == "verify":
        r = lab.verify(a.server, Path(a.acks) if a.acks else None)
        _json_print(r)
        return 0 if r["ok"] else 1
    if c == "runbook":
        r = lab.runbook(a.old_master)
        _json_print(r)
        return 0 if r["ok"] else 1
    if c == "daemon-config":
        overrides: dict = {}
        for text in a.set:
            extra = json.loads(text)
            if not isinstance(extra, dict):
                raise LabError("--set takes a JSON object")
            overrides.update(extra)
        path = lab.write_daemon_config(Path(a.out) if a.out else None, mode=a.mode,
                                       state_dir=Path(a.state_dir) if a.state_dir else None,
                                       stable_seconds=a.stable_seconds, overrides=overrides)
        print(path)
        return 0
    if c == "capture":
        from lab_capture import capture
        return capture(lab, Path(a.out))
    raise LabError(f"unknown command {c}")


if __name__ == "__main__":
    sys.exit(main())
