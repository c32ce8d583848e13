#!/usr/bin/env python3
"""Hostile values and a secrets scan during a full failback on the real lab (one lab, one run).

The lab's accounts get hostile names and passwords: quotes, shell metacharacters ($ ` ; | & > * ( )),
'#', spaces, '=', non-ASCII UTF-8, and commands that would create a canary file if anything ever
handed them to a shell (`$(touch <canary>/...)`, backticks, `;touch ...;`). The daemon's own paths
(its JSON config, state directory, SSH identity file, known_hosts, both password files) live under a
directory whose name holds spaces, both quote kinds, non-ASCII and the same kind of injected
commands. Then a full failback: masterha_manager fails db1 over to db2 under the load client,
mha-failbackd (approve mode) rejoins and validates db1, `mha-failbackctl failback --wait` switches
back, the daemon reaches healthy.

Expected (each is a check):
- the daemon accepts its config at those paths (`--check-config`) and runs from them;
- the failback completes: validated, failback --wait exit 0, healthy, final roles (db1 writable
  master, db2 read-only replica of db1 with both threads running), every acknowledged write on
  both servers, CHECKSUM TABLE equal;
- both CHANGE MASTERs got the hostile replication password intact: db1 replicated from db2 after the
  daemon's rejoin (IO thread running as the hostile replication user), and db2 replicates from db1
  after MHA's switch;
- no file named like an injected command appeared anywhere we look (the canary directory, the
  test's base directory tree, /, /tmp, $HOME, the working directory);
- the secrets scan: a sampler (a process of its own, so the test's threads cannot stall it) reads
  /proc/*/cmdline of every process every <= 20 ms (median period checked; 95th percentile and max
  printed) and /proc/*/environ of every new process and after every exec from before the daemon starts until healthy,
  looking for every lab password, raw and in the form MHA's shell escaping gives it. Zero findings in
  the daemon, in any process not descended from MHA code, in the daemon's whole output, the watch
  output, mha-failbackctl's output, the daemon's state directory, and every file under the test's
  directories written during the run except the files whose job is to hold a password (the lab's
  secrets, the daemon's password files, MHA's app config, MariaDB's data directories).

Known upstream behaviour (MHA 0.58), attributed by the scan rather than asserted away: MHA puts the
admin password on command lines. masterha_check_repl (which the daemon runs to validate) and
masterha_manager (started by the daemon's manager_start command) run
`ssh ... apply_diff_relay_logs --command=test ... --slave_pass='<shell-escaped password>'`
(MHA::MasterMonitor), so the password is in the argv of their `ssh` child and, on the node, of the
shell sshd starts and of apply_diff_relay_logs, which passes it on to `mysql --password=...`. Every
such finding must sit in a process that is, or descends from, an MHA program; it is printed with its
process, the place it was found and its whole parent chain. The daemon itself and its children
before they exec MHA code (it runs ssh through libssh2, no ssh binary) must show none.

What MHA 0.58 cannot carry, found out here and in tests/lab/lab.py (_check_account_value):
- its app config (Config::Tiny 2.28 + MHA::Config): no CR/LF (a line break ends the value), no
  leading/trailing whitespace (trimmed), no whitespace-';'-whitespace (starts a comment), no trailing
  quote (MHA strips `^['"]?(.*)['"]$`), not empty or "0" (treated as unset). '#' and ';' inside a
  value are fine: only whole lines starting with them are comments;
- the replication user and password: no "'" and no backslash — MHA builds its CHANGE MASTER with
  sprintf("... MASTER_USER='%s', MASTER_PASSWORD='%s' ...") without escaping (a quote breaks the
  statement, a backslash is taken as an escape by the server);
- the admin password: no backslash — MHA's escape_for_shell doubles it and the node tools'
  unescape_for_shell does not undo that, so apply_diff_relay_logs logs in with a wrong password;
- the admin user: none of MHA's shell-escaped characters (" ! # & ; ` | * ? ~ < > ^ ( ) [ ] { } $ ,
  and space) nor a backslash — the node tools pass the escaped user name to DBI without unescaping
  it — and no non-ASCII: apply_diff_relay_logs's `mysql` client (C locale over SSH) sends the name
  in latin1 and the server looks up another name (Access denied). A quote is fine;
- the replication user: no non-ASCII either with MariaDB's built-in character_set_server=latin1
  (the lab runs mariadbd --no-defaults): the replica's IO thread was refused (Access denied for
  the UTF-8 name). Non-ASCII passwords are fine everywhere (compared as bytes).
The daemon's own quoting of backslashes and quotes is covered by tests/unit/test_sql_quote.cpp and
test_statements.cpp; the lab's `app` account (not used by MHA) carries a backslash here.

Run: MHAFB_LAB_IPS=... MHAFB_BUILD_DIR=<build> python3 tests/integration/test_hostile_values.py (root)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import (CLUSTER, DB1, DB2, Checks, Daemon, Stack, Timer, Watch,  # noqa: E402
                         check_data, check_final_roles, clean_env, role, transition_pairs)
from lab import Lab  # noqa: E402

MHA_PROGRAMS = ("masterha_", "apply_diff_relay_logs", "save_binary_logs", "purge_relay_logs",
                "filter_mysqlbinlog")
EXPECTED = [("healthy", "degraded"), ("degraded", "slave-rejoined"), ("slave-rejoined", "validated"),
            ("validated", "switched-back"), ("switched-back", "healthy")]
SHELL_ESCAPED = set('"!#&;`|*?~<>^()[]{}$, \n')  # MHA::NodeUtil's @shell_escape_chars


def hostile_accounts(canary: Path, token: str) -> dict:
    c = str(canary)
    return {
        # MHA's node tools pass the admin user to DBI still shell-escaped: only a quote and UTF-8 here.
        "admin": {"user": "mha'adm-" + token[:6],
                  "password": f"Ad'm\"in $(touch {c}/pwned-admin-1) `touch {c}/pwned-admin-2`;"
                              f"touch {c}/pwned-admin-3;|&>*()#ü€ x={token}"},
        "repl": {"user": 'rep"l$(x);|&>*()#',
                 # MariaDB takes at most 96 characters as MASTER_PASSWORD.
                 "password": f"Rp\"$(touch {c}/pwned-r1)`id`;|&>*()#é€ ={token[:6]}"},
        "app": {"user": "app`x`ü",
                "password": f"Ap\\p'\"$(touch {c}/pwned-app-1);|&>*()#ö {token}"},
    }


def mha_shell_escaped(pw: str) -> str:
    """The body of MHA::NodeUtil::escape_for_shell (without its outer quotes)."""
    out = []
    for ch in pw:
        x = "'\\''" if ch == "'" else ("\\\\" if ch == "\\" else ch)
        out.append("\\" + x if ch in SHELL_ESCAPED else x)
    return "".join(out)


# ---- the /proc sampler --------------------------------------------------------------------------

def _read(path: str) -> bytes:
    # os.open/os.read: about twice as fast as a Python file object, and a pass reads hundreds.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return b""
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _ppid(pid: int) -> int:
    stat = _read(f"/proc/{pid}/stat")
    try:
        return int(stat[stat.rindex(b")") + 2:].split()[1])
    except (ValueError, IndexError):
        return 0


def _argv(pid: int) -> str:
    return _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace").strip()


class Sampler:
    """Reads /proc/*/cmdline and /proc/*/environ of every process every `period` seconds, in a
    process of its own (the test's threads would hold the GIL for whole passes), and records each
    (pid, place, needle) found once, with the process's parent chain at that moment. A process's
    environ is read again whenever its cmdline changed (an exec replaces both)."""

    def __init__(self, needles: dict[str, bytes], period: float = 0.015):
        self.needles = needles
        self.period = period
        ctx = multiprocessing.get_context("fork")
        self._stop = ctx.Event()
        self._out = ctx.Queue()
        self._proc = ctx.Process(target=self._run, daemon=True)
        self.findings: list[dict] = []
        self.starts: list[float] = []
        self.processes_seen = 0

    def start(self) -> None:
        self._proc.start()

    def stop(self) -> None:
        if self._proc.pid is None or self.starts:
            return
        self._stop.set()
        self.findings, self.starts, self.processes_seen = self._out.get(timeout=60)
        self._proc.join(10)

    def _run(self) -> None:
        me, parent = os.getpid(), os.getppid()
        findings: list[dict] = []
        seen: set[tuple[int, str, str]] = set()
        starts: list[float] = []
        last_cmdline: dict[int, bytes] = {}
        pids_seen: set[int] = set()
        while not self._stop.is_set():
            t = time.monotonic()
            starts.append(t)
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                pid = int(entry)
                if pid in (me, parent):
                    continue
                cmdline = _read(f"/proc/{pid}/cmdline")
                if not cmdline:
                    continue  # a kernel thread, or gone
                places = [("cmdline", cmdline)]
                if last_cmdline.get(pid) != cmdline:
                    last_cmdline[pid] = cmdline
                    pids_seen.add(pid)
                    places.append(("environ", _read(f"/proc/{pid}/environ")))
                for place, data in places:
                    for label, needle in self.needles.items():
                        if needle in data and (pid, place, label) not in seen:
                            seen.add((pid, place, label))
                            findings.append(self._describe(pid, place, label))
            left = self.period - (time.monotonic() - t)
            if left > 0:
                self._stop.wait(left)
        self._out.put((findings, starts, len(pids_seen)))

    @staticmethod
    def _describe(pid: int, place: str, label: str) -> dict:
        chain = []
        p = pid
        while p > 1 and len(chain) < 30:
            chain.append({"pid": p, "argv": _argv(p)[:300]})
            p = _ppid(p)
        return {"pid": pid, "place": place, "needle": label, "chain": chain}

    def periods(self) -> list[float]:
        return [b - a for a, b in zip(self.starts, self.starts[1:])]


def mha_attributed(finding: dict) -> bool:
    """True if the process or one of its ancestors runs an MHA program (the upstream leak)."""
    return any(any(p in link["argv"] for p in MHA_PROGRAMS) for link in finding["chain"])


def render(finding: dict) -> str:
    chain = " <- ".join(f"{link['pid']} [{link['argv'][:110]}]" for link in finding["chain"])
    return f"{finding['needle']} in /proc/{finding['pid']}/{finding['place']}: {chain}"


# ---- the test -----------------------------------------------------------------------------------

def hostile_daemon_files(c: Checks, stack: Stack, hostile: Path) -> Path:
    """The daemon's config, state dir, identity file, known_hosts and password files under `hostile`."""
    lab = stack.lab
    for sub in ("keys ü 'k'", "secrets \"s\" $(touch pwned-dir)", "state ;|&>*() `x`"):
        (hostile / sub).mkdir(mode=0o700, parents=True)
    ident = hostile / "keys ü 'k'" / "id 'ed25519' ü"
    known = hostile / "keys ü 'k'" / "known hosts \"kh\" $(x)"
    admin_pw = hostile / "secrets \"s\" $(touch pwned-dir)" / "admin 'pw' ü"
    repl_pw = hostile / "secrets \"s\" $(touch pwned-dir)" / "repl \"pw\" `x`"
    state = hostile / "state ;|&>*() `x`" / "state dir é"
    for src, dst in ((lab.client_key, ident), (lab.known_hosts, known), (lab.secret_file("admin"), admin_pw),
                     (lab.secret_file("repl"), repl_pw)):
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o600)
    state.mkdir(mode=0o700)
    cfg = lab.daemon_config_dict(mode="approve", state_dir=state, stable_seconds=2, overrides={
        "admin": {"password_file": str(admin_pw)}, "replication": {"password_file": str(repl_pw)},
        "ssh": {"identity_file": str(ident), "known_hosts": str(known)}})
    path = hostile / "mha-failback 'config' \"ü\" $(touch pwned-cfg).json"
    path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    r = subprocess.run([str(stack.daemon_bin), "--check-config", "--config", str(path)], capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    c.check(r.returncode == 0, f"--check-config accepts the config at the hostile paths: "
            f"{(r.stdout + r.stderr).strip()[-400:]}")
    return path


def start_daemon_at(stack: Stack, config: Path) -> Daemon:
    if not stack.bus.address:
        stack.start_bus()
    stack.daemon = Daemon(stack.work, stack.daemon_bin, config, stack.bus.address)
    stack.daemons.append(stack.daemon)
    stack.daemon.start()
    stack.remember(stack.daemon.proc.pid)
    stack.watch = Watch(stack.work, stack.ctl_bin, stack.bus.address)
    stack.watches.append(stack.watch)
    stack.remember(stack.watch.proc.pid)
    return stack.daemon


def failback(c: Checks, stack: Stack, ctl_out: list[str]) -> bool:
    lab = stack.lab
    st = stack.wait_status(lambda s: s.get("state") == "healthy" and f"{DB1} is master" in s.get("status", ""), 30)
    c.check(st is not None, f"daemon up with the hostile accounts, cluster healthy: {st and st.get('status')}")
    lab.writer_start()
    lab.manager_start()
    time.sleep(1.0)
    fo = lab.failover(mode="manager")
    c.timing("MHA failover", fo.seconds)
    c.check(fo.rc == 0 and fo.flag_written and fo.new_master_writable,
            f"masterha_manager failed db1 over to db2 with the hostile accounts (rc {fo.rc})")
    with Timer(c, "failover -> validated"):
        tr = stack.wait_state("validated", 300)
    if not c.check(tr is not None, "the daemon rejoined and validated db1"):
        return False
    r1 = role(lab, "db1")
    s1 = lab.slave_status("db1")
    c.check(r1.get("source") == DB2 and r1.get("io") == "Yes" and s1.get("Master_User") == lab.accounts["repl"],
            f"the daemon's CHANGE MASTER carried the hostile replication user and password: db1 replicates "
            f"from db2 as {s1.get('Master_User')!r}, IO thread {r1.get('io')}")
    with Timer(c, "failback --wait"):
        r = stack.ctl.run("failback", CLUSTER, "--wait", "--reason", "hostile $(touch pwned-reason) 'ü'",
                          timeout=600)
    ctl_out.append(r.stdout + r.stderr)
    c.check(r.returncode == 0 and "completed" in r.stdout,
            f"failback --wait exit {r.returncode}: {(r.stdout + r.stderr).strip()[-300:]}")
    with Timer(c, "switched-back -> healthy"):
        tr = stack.wait_state("healthy", 240)
    c.check(tr is not None, f"healthy: {tr and tr['reason']}")
    time.sleep(0.5)
    lab.writer_stop()
    check_final_roles(c, lab)
    s2 = lab.slave_status("db2")
    c.check(s2.get("Master_User") == lab.accounts["repl"] and s2.get("Slave_IO_Running") == "Yes",
            f"MHA's CHANGE MASTER carried them too: db2 replicates from db1 as {s2.get('Master_User')!r}, "
            f"IO thread {s2.get('Slave_IO_Running')}")
    # One more row through the new replication link, end to end.
    lab.sql("db1", "INSERT INTO lab.writes (id, written_to) VALUES (%s, %s)", (10**15, "hostile-probe"))
    lab.wait_replica_synced("db2", "db1", 20)
    c.check(lab.sql_value("db2", "SELECT COUNT(*) FROM lab.writes WHERE id=%s", (10**15,)) == 1,
            "a row written on db1 after the failback reached db2")
    check_data(c, lab)
    pairs = transition_pairs(stack.transitions())
    c.check(pairs == EXPECTED, f"state sequence: {pairs}")
    return True


def scan_files(roots: list[Path], since: float, needles: dict[str, bytes], allowed: list[Path]) -> list[str]:
    """Files under `roots` modified at or after `since` holding a needle, except under `allowed`."""
    hits = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                p = Path(dirpath) / name
                if any(p == a or a in p.parents for a in allowed):
                    continue
                try:
                    if p.stat().st_mtime < since or not p.is_file():
                        continue
                    data = p.read_bytes()
                except OSError:
                    continue
                hits += [f"{label} in {p}" for label, n in needles.items() if n in data]
    return hits


def canaries(roots_recursive: list[Path], roots_flat: list[Path]) -> list[str]:
    found = []
    for root in roots_recursive:
        for dirpath, dirs, files in os.walk(root):
            found += [str(Path(dirpath) / n) for n in files + dirs if n.startswith("pwned")]
    for root in roots_flat:
        try:
            found += [str(root / n) for n in os.listdir(root) if n.startswith("pwned")]
        except OSError:
            pass
    return found


def main() -> int:
    c = Checks("test_hostile_values")
    stack = Stack("hostile", c)
    token = os.urandom(6).hex()
    canary = stack.base / "c"  # short: it is part of the replication password
    canary.mkdir()
    accounts = hostile_accounts(canary, token)
    stack.lab = Lab(stack.base / "lab", verbose=bool(os.environ.get("MHAFB_LAB_VERBOSE")), accounts=accounts)
    needles: dict[str, bytes] = {}
    for key, spec in accounts.items():
        needles[f"{key} password"] = spec["password"].encode()
        needles[f"{key} password (MHA shell-escaped)"] = mha_shell_escaped(spec["password"]).encode()
    sampler = Sampler(needles)
    ctl_out: list[str] = []
    try:
        stack.lab_up()
        c.check(stack.lab.password("admin") == accounts["admin"]["password"]
                and stack.lab.password("repl") == accounts["repl"]["password"],
                "the lab holds the hostile passwords (MHA's own checks passed with them at lab up)")
        hostile = stack.base / "daemon dir 'single' \"double\" ünïcödé $(touch pwned-base) `x`; |&>*()"
        config = hostile_daemon_files(c, stack, hostile)
        t_start = time.time() - 1
        sampler.start()
        start_daemon_at(stack, config)
        failback(c, stack, ctl_out)  # its checks are recorded in c
        daemon_pid = stack.daemon.proc.pid
        stack.stop_daemon()
        sampler.stop()
        periods = sampler.periods()
        if periods:
            med, mx = statistics.median(periods), max(periods)
            p95 = sorted(periods)[int(len(periods) * 0.95)]
            c.note(f"sampler: {len(sampler.starts)} passes over {sampler.processes_seen} processes, "
                   f"period median {med * 1000:.1f} ms, 95th percentile {p95 * 1000:.1f} ms, max {mx * 1000:.1f} ms")
            c.check(med <= 0.020, f"the sampler read every process's cmdline and environ at least every 20 ms "
                    f"(median period {med * 1000:.1f} ms)")
        mha = [f for f in sampler.findings if mha_attributed(f)]
        ours = [f for f in sampler.findings if not mha_attributed(f)]
        for f in mha:
            c.note("MHA 0.58 (upstream, documented): " + render(f))
        c.check(not ours, f"no password in the cmdline/environ of any process outside MHA code "
                f"({len(ours)} found){''.join(chr(10) + '    ' + render(f) for f in ours)}")
        c.check(not any(f["pid"] == daemon_pid for f in sampler.findings),
                "none in the daemon's own cmdline/environ")
        direct = [f for f in sampler.findings if len(f["chain"]) > 1 and f["chain"][1]["pid"] == daemon_pid
                  and not any(p in f["chain"][0]["argv"] for p in MHA_PROGRAMS)]
        c.check(not direct, f"none in a direct child of the daemon that is not MHA code ({len(direct)})")
        c.note(f"MHA's own argv leak seen in {len(mha)} process(es) (upstream behaviour; short-lived "
               f"processes may escape a 20 ms sampler)")
        texts = {"daemon output": stack.daemon.text(),
                 "watch output": (stack.work / "watch.log").read_text(errors="replace"),
                 "mha-failbackctl output": "\n".join(ctl_out)}
        for what, text in texts.items():
            found = [label for label, n in needles.items() if n in text.encode()]
            c.check(not found, f"no password in the {what} ({len(text)} bytes): {found}")
        state = Path(json.loads(config.read_text(encoding="utf-8"))["state_dir"])
        state_files = [p for p in state.rglob("*") if p.is_file()]
        c.check(bool(state_files), f"the state directory holds the daemon's files: {[p.name for p in state_files]}")
        lab = stack.lab
        allowed = [lab.path("secrets"), lab.mha_conf, hostile / "secrets \"s\" $(touch pwned-dir)",
                   # MariaDB's own files: master.info holds the replication password by design,
                   # binlogs and relay logs carry the lab's CREATE USER statements.
                   lab.db_dir("db1"), lab.db_dir("db2")]
        hits = scan_files([stack.base], t_start, needles, allowed)
        c.check(not hits, f"no password in any file written during the run, outside the files meant to hold "
                f"one: {hits}")
        pw = canaries([stack.base, canary], [Path("/"), Path("/tmp"), Path(os.environ.get("HOME", "/root")),
                                              Path.cwd(), Path("/root")])
        c.check(not pw, f"no file named like an injected command appeared: {pw}")
    except Exception as e:  # noqa: BLE001 - report, then clean up
        import traceback
        traceback.print_exc()
        c.check(False, f"unexpected error: {e}")
    finally:
        try:
            sampler.stop()
        except Exception as e:  # noqa: BLE001 - keep cleaning up
            print(f"# sampler: {e}", flush=True)
        if c.failed:
            stack.failure_context()
        stack.stop()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
