#!/usr/bin/env python3
"""D-Bus abuse against the real mha-failbackd on private buses (no lab: the cluster's MHA config
points at 127.0.0.45/46, where nothing listens).

Expected (each is a check):
1. --check-config rejects a hostile hostname in the MHA config with an error naming the MHA config
   file and "[server2] hostname" (exit 1), and accepts the plain config.
2. Wrong argument types and counts (calls with wrong signatures: Failback with an int, two strings
   or nothing; SetMode with an int or an array; ListClusters and Abort with an argument; Get with a
   missing argument) fail with org.freedesktop.DBus.Error.InvalidArgs; an unknown property with
   UnknownProperty, writing a read-only property with PropertyReadOnly, unknown cluster objects
   with UnknownObject, unknown methods and interfaces with UnknownMethod; SetMode with an unknown
   (hostile) mode name with org.mhafailback.Supervisor1.Error.InvalidArgument. Each has a message;
   the mode is unchanged afterwards.
3. The flood: 6 client processes, each with its own connection, make 600 property reads
   (Get/GetAll/Introspect/Ping) and 150 method calls (ListClusters, Plan, Abort, SetMode to the mode
   it has) as fast as they can, while 50 `Failback` triggers run concurrently from 50 busctl
   processes. Every call gets a reply (a value or a named error; no NoReply/timeout); all 50
   triggers are refused at once with a named org.mhafailback.Supervisor1.Error.* (the cluster is
   not validated); afterwards no operation runs or was started (Operation is empty, no
   operation record in the daemon's output), the daemon still answers, is still alive, and its RSS
   grew by less than 32 MiB (before/after printed).
4. On a system-style bus (deny by default) with the shipped policy, a caller that is neither root
   nor in mha-failback (uid/gid 65534) may read properties but every method call (Failback,
   SetMode, Abort, Acknowledge, Rejoin, Plan, an unknown method, ListClusters, Properties.Set) is
   refused by the bus with org.freedesktop.DBus.Error.AccessDenied; root still sees the mode unchanged and may call.

Run: MHAFB_BUILD_DIR=<build> python3 tests/integration/test_dbus_abuse.py   (root; about 10 s)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import Checks, binaries, clean_env  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BUS_NAME = "org.mhafailback.Supervisor1"
ROOT_PATH = "/org/mhafailback/Supervisor1"
CLUSTER_PATH = ROOT_PATH + "/cluster/app1"
CLUSTER_IF = BUS_NAME + ".Cluster"
MANAGER_IF = BUS_NAME + ".Manager"
PROPS_IF = "org.freedesktop.DBus.Properties"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
NAMED_ERROR = re.compile(r"(org\.freedesktop\.DBus\.Error\.\w+|org\.mhafailback\.Supervisor1\.Error\.\w+)")
CLIENTS, READS, CALLS, TRIGGERS = 6, 600, 150, 50

MHA_CONF = """[server default]
user=admin
password=Abuse-Admin-Pw-1
repl_user=repl
repl_password=Abuse-Repl-Pw-2
manager_workdir={work}
ssh_user=root

[server1]
hostname=127.0.0.45
candidate_master=1

[server2]
hostname={second}
candidate_master=1
"""

SYSTEM_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


class World:
    """A temporary directory with the MHA config, a key, the daemon config; buses and the daemon."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="mhafb-dbus-abuse-"))
        os.chmod(self.dir, 0o755)  # the unprivileged client must reach the bus socket in here
        self.work = self.dir / "work"
        self.state = self.dir / "state"
        self.work.mkdir()
        self.state.mkdir(mode=0o700)
        self.key = self.dir / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True,
                       stdout=subprocess.DEVNULL, env=clean_env())
        (self.dir / "known_hosts").write_text("")
        self.procs: list[subprocess.Popen] = []
        self.daemon_bin, self.ctl_bin = binaries()

    def config(self, second: str = "127.0.0.46", name: str = "mha-failback.json") -> Path:
        mha = self.dir / "app1.cnf"
        mha.write_text(MHA_CONF.format(work=self.work, second=second))
        os.chmod(mha, 0o600)
        cfg = {"state_dir": str(self.state), "log_level": "info", "clusters": [{
            "name": "app1", "mha_conf": str(mha), "mode": "approve",
            "ssh": {"identity_file": str(self.key), "known_hosts": str(self.dir / "known_hosts"),
                    "connect_timeout_ms": 500},
            "timeouts": {"sql_timeout_ms": 1000, "probe_interval_ms": 500}}]}
        path = self.dir / name
        path.write_text(json.dumps(cfg, indent=2))
        return path

    def bus(self, config_file: Path | None = None) -> str:
        argv = ["dbus-daemon", "--nofork", "--print-address"]
        argv.append(f"--config-file={config_file}" if config_file else "--session")
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=clean_env(),
                             start_new_session=True)
        self.procs.append(p)
        address = p.stdout.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon printed no address")
        return address

    def daemon(self, bus: str, config: Path) -> tuple[subprocess.Popen, Path]:
        log = self.dir / f"daemon-{len(self.procs)}.log"
        with open(log, "wb") as out:
            # Under AddressSanitizer freed memory sits in a quarantine (256 MiB by default) and
            # shows as RSS: a small one keeps the RSS bound below meaningful (no effect otherwise).
            env = {**clean_env(), "ASAN_OPTIONS": "quarantine_size_mb=4:detect_leaks=1:abort_on_error=1"}
            p = subprocess.Popen([str(self.daemon_bin), "--config", str(config), "--bus", bus],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
        self.procs.append(p)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if p.poll() is not None or re.search(r"ready: \d+ cluster", log.read_text(errors="replace")):
                break
            time.sleep(0.05)
        if p.poll() is not None or not re.search(r"ready: \d+ cluster", log.read_text(errors="replace")):
            raise RuntimeError("mha-failbackd not ready:\n" + log.read_text(errors="replace")[-3000:])
        return p, log

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
            if p.stdout:
                p.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def busctl(bus: str, *args: str, prefix: list[str] | tuple = (), timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, "busctl", f"--address={bus}", "--timeout=20", *args], capture_output=True,
                          text=True, timeout=timeout, env=clean_env())


def call(bus: str, path: str, iface: str, member: str, *sig_args: str, prefix=()) -> subprocess.CompletedProcess:
    """busctl call: for the unprivileged caller (setpriv runs it as uid 65534)."""
    return busctl(bus, "call", BUS_NAME, path, iface, member, *sig_args, prefix=prefix)


def dbus_send(bus: str, path: str, iface: str, member: str, *typed: str, prefix=()) -> subprocess.CompletedProcess:
    """dbus-send, which prints a refused call's error name ("Error <name>: <message>")."""
    return subprocess.run([*prefix, "dbus-send", f"--bus={bus}", "--print-reply", "--reply-timeout=20000",
                           f"--dest={BUS_NAME}", path, f"{iface}.{member}", *typed], capture_output=True, text=True,
                          timeout=30, env=clean_env())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def prop(bus: str, name: str, prefix=()) -> str:
    r = busctl(bus, "get-property", BUS_NAME, CLUSTER_PATH, CLUSTER_IF, name, "--json=short", prefix=prefix)
    return json.loads(r.stdout)["data"] if r.returncode == 0 else f"<error {r.stderr.strip()}>"


# ---- 1. hostile hostnames -------------------------------------------------------------------------

def check_hostnames(c: Checks, w: World) -> None:
    for host in ("db2;touch /tmp/pwned", "$(id)", "-oProxyCommand=x"):
        cfg = w.config(second=host, name="hostile.json")
        r = subprocess.run([str(w.daemon_bin), "--check-config", "--config", str(cfg)], capture_output=True,
                           text=True, env=clean_env(), timeout=30)
        want = f"{w.dir / 'app1.cnf'}: [server2] hostname: expected a host name or IP address"
        c.check(r.returncode == 1 and want in r.stderr,
                f"--check-config rejects hostname={host!r} naming the MHA config file and key: {r.stderr.strip()}")
    r = subprocess.run([str(w.daemon_bin), "--check-config", "--config", str(w.config())], capture_output=True,
                       text=True, env=clean_env(), timeout=30)
    c.check(r.returncode == 0, f"--check-config accepts the plain config: {(r.stdout + r.stderr).strip()}")


# ---- 2. malformed calls ---------------------------------------------------------------------------

MALFORMED = [
    # (what, path, interface, member, signature, args, the error name expected)
    ("Failback with an int", CLUSTER_PATH, CLUSTER_IF, "Failback", "i", (5,), "InvalidArgs"),
    ("Failback with two strings", CLUSTER_PATH, CLUSTER_IF, "Failback", "ss", ("a", "b"), "InvalidArgs"),
    ("Failback without its argument", CLUSTER_PATH, CLUSTER_IF, "Failback", "", (), "InvalidArgs"),
    ("SetMode with an int", CLUSTER_PATH, CLUSTER_IF, "SetMode", "i", (2,), "InvalidArgs"),
    ("SetMode with an array", CLUSTER_PATH, CLUSTER_IF, "SetMode", "as", (["auto", "auto"],), "InvalidArgs"),
    ("ListClusters with an argument", ROOT_PATH, MANAGER_IF, "ListClusters", "s", ("x",), "InvalidArgs"),
    ("Abort with an argument", CLUSTER_PATH, CLUSTER_IF, "Abort", "u", (7,), "InvalidArgs"),
    ("Properties.Get without the property name", CLUSTER_PATH, PROPS_IF, "Get", "s", (CLUSTER_IF,),
     "InvalidArgs"),
    ("Properties.Get of an unknown property", CLUSTER_PATH, PROPS_IF, "Get", "ss", (CLUSTER_IF, "Nope"),
     "UnknownProperty"),
    ("Properties.Set of the read-only State", CLUSTER_PATH, PROPS_IF, "Set", "ssv", (CLUSTER_IF, "State", "healthy"),
     "PropertyReadOnly"),
    ("Properties.Set of Mode (SetMode is the way)", CLUSTER_PATH, PROPS_IF, "Set", "ssv", (CLUSTER_IF, "Mode", "auto"),
     "PropertyReadOnly"),
    ("an unknown cluster object", ROOT_PATH + "/cluster/nope", CLUSTER_IF, "Failback", "s", ("x",), "UnknownObject"),
    ("an object below a cluster", CLUSTER_PATH + "/x", CLUSTER_IF, "Abort", "", (), "UnknownObject"),
    ("an escaped hostile cluster name", ROOT_PATH + "/cluster/_24_28id_29", CLUSTER_IF, "Abort", "", (),
     "UnknownObject"),
    ("an unknown method", CLUSTER_PATH, CLUSTER_IF, "Explode", "", (), "UnknownMethod"),
    ("an unknown interface", CLUSTER_PATH, BUS_NAME + ".Nope", "Failback", "s", ("x",), "UnknownMethod"),
    ("a Manager method on a cluster", CLUSTER_PATH, MANAGER_IF, "ListClusters", "", (), "UnknownMethod"),
    ("SetMode with an unknown, hostile mode name", CLUSTER_PATH, CLUSTER_IF, "SetMode", "s", ("yolo'; rm -rf /",),
     "Error.InvalidArgument"),
]


def _malformed(bus: str, out) -> None:
    """In a child process (libdbus state stays out of the parent that forks the flood clients)."""
    import dbus
    conn = dbus.bus.BusConnection(bus)
    res = []
    for what, path, iface, member, sig, args, _ in MALFORMED:
        try:
            conn.call_blocking(BUS_NAME, path, iface, member, sig, args, timeout=20)
            res.append(("", "no error"))
        except dbus.exceptions.DBusException as e:
            res.append((e.get_dbus_name() or "", e.get_dbus_message() or ""))
    out.put(res)


def check_malformed(c: Checks, bus: str) -> None:
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_malformed, args=(bus, q))
    p.start()
    res = q.get(timeout=120)
    p.join(30)
    for (what, *_, want), (name, message) in zip(MALFORMED, res):
        c.check(bool(NAMED_ERROR.fullmatch(name)) and name.endswith(want) and bool(message.strip()),
                f"{what}: {name or 'no error'}: {message[:150]}")
    c.check(prop(bus, "Mode") == "approve", f"the mode is unchanged: {prop(bus, 'Mode')}")


# ---- 3. the flood ---------------------------------------------------------------------------------

def _client(bus: str, index: int, out) -> None:
    """One client process: its own connection, READS property reads and CALLS method calls."""
    import dbus  # python3-dbus; imported here so a missing module fails this case, not the file
    result = {"ok": 0, "errors": {}, "bad": [], "operations": set()}
    try:
        conn = dbus.bus.BusConnection(bus)
        obj = conn.get_object(BUS_NAME, CLUSTER_PATH, introspect=False)
        mgr = conn.get_object(BUS_NAME, ROOT_PATH, introspect=False)
        props = dbus.Interface(obj, PROPS_IF)
        cluster = dbus.Interface(obj, CLUSTER_IF)
        names = ["State", "Status", "Mode", "Master", "PreferredMaster", "LastError", "Operation", "Name"]
        ops = []
        for i in range(READS):
            n = names[i % len(names)]
            ops.append((f"Get {n}", lambda n=n: props.Get(CLUSTER_IF, n, timeout=20)))
            if i % 50 == 0:
                ops.append(("GetAll", lambda: props.GetAll(CLUSTER_IF, timeout=20)))
                ops.append(("Introspect", lambda: obj.Introspect(dbus_interface="org.freedesktop.DBus.Introspectable",
                                                                  timeout=20)))
                ops.append(("Ping", lambda: obj.Ping(dbus_interface="org.freedesktop.DBus.Peer", timeout=20)))
        for i in range(CALLS):
            kind = i % 4
            if kind == 0:
                ops.append(("ListClusters", lambda: mgr.ListClusters(dbus_interface=MANAGER_IF, timeout=20)))
            elif kind == 1:
                ops.append(("Plan", lambda: cluster.Plan(timeout=20)))
            elif kind == 2:
                ops.append(("Abort", lambda: cluster.Abort(timeout=20)))
            else:
                ops.append(("SetMode", lambda: cluster.SetMode("approve", timeout=20)))
        for name, op in ops:
            try:
                value = op()
                result["ok"] += 1
                if name == "Get Operation":
                    result["operations"].add(str(value))
                elif name == "GetAll":
                    result["operations"].add(str(value.get("Operation", "<missing>")))
            except dbus.exceptions.DBusException as e:
                err = e.get_dbus_name() or "?"
                result["errors"][f"{name}: {err}"] = result["errors"].get(f"{name}: {err}", 0) + 1
                if not NAMED_ERROR.match(err) or err.endswith(("NoReply", "Timeout", "Disconnected")):
                    result["bad"].append(f"{name}: {err}: {e.get_dbus_message()}"[:200])
    except Exception as e:  # noqa: BLE001 - reported to the parent
        result["bad"].append(f"client {index}: {type(e).__name__}: {e}"[:300])
    out.put(result)


def check_flood(c: Checks, bus: str, daemon: subprocess.Popen, log: Path) -> None:
    pid = daemon.pid
    before = rss_kib(pid)
    log_offset = len(log.read_bytes())
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    t0 = time.monotonic()
    clients = [ctx.Process(target=_client, args=(bus, i, q)) for i in range(CLIENTS)]
    for p in clients:
        p.start()
    # dbus-send prints the error's name ("Error org.mhafailback.Supervisor1.Error.X: message").
    triggers = [subprocess.Popen(["dbus-send", f"--bus={bus}", "--print-reply", "--reply-timeout=30000",
                                  f"--dest={BUS_NAME}", CLUSTER_PATH, f"{CLUSTER_IF}.Failback",
                                  f"string:flood trigger {i} $(touch pwned)"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=clean_env()) for i in range(TRIGGERS)]
    trig = [p.communicate(timeout=60) + (p.returncode,) for p in triggers]
    results = [q.get(timeout=120) for _ in clients]
    for p in clients:
        p.join(30)
    seconds = time.monotonic() - t0
    ok = sum(r["ok"] for r in results)
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    bad = [b for r in results for b in r["bad"]]
    c.note(f"flood: {CLIENTS} clients x ({READS} reads + {CALLS} calls) and {TRIGGERS} Failback triggers in "
           f"{seconds:.1f} s: {ok} answered with a value, errors {errors}")
    c.check(not bad, f"every flood call got a value or a named error, none timed out ({len(bad)} bad: {bad[:5]})")
    expected_ops = CLIENTS * (READS + READS // 50 * 3 + CALLS)
    c.check(ok + sum(errors.values()) == expected_ops, f"all {expected_ops} flood calls were answered "
            f"({ok + sum(errors.values())})")
    refused = [rc != 0 and re.match(r"Error org\.mhafailback\.Supervisor1\.Error\.\w+: \S", err) is not None
               for _, err, rc in trig]
    c.check(all(refused),
            f"all {TRIGGERS} concurrent Failback triggers refused with a named error: "
            f"{sorted(set(e.strip()[:160] for _, e, _ in trig))[:3]}")
    time.sleep(1.5)  # a queued trigger would have started by now
    c.check(prop(bus, "Operation") == "", f"no operation runs after the flood: {prop(bus, 'Operation')!r}")
    text = log.read_bytes()[log_offset:].decode(errors="replace")
    started = [line for line in text.splitlines()
               if re.search(r"AUDIT_KIND=(step-started|transition|command|remote-command)\b", line)]
    c.check(not started, f"no step, transition or command came of the flood (daemon output since: "
            f"{len(text.splitlines())} lines): {started[:3]}")
    seen_ops = sorted({v for r in results for v in r["operations"]})
    c.check(seen_ops == [""], f"Operation was empty in every read during the flood: {seen_ops}")
    c.check(daemon.poll() is None, "the daemon is alive after the flood")
    c.check(prop(bus, "Mode") == "approve" and prop(bus, "Name") == "app1",
            f"and answers: Mode {prop(bus, 'Mode')}, State {prop(bus, 'State')}")
    after = rss_kib(pid)
    c.note(f"daemon RSS before the flood {before / 1024:.1f} MiB, after {after / 1024:.1f} MiB")
    c.check(0 < after < before + 32 * 1024, f"RSS bounded: grew {(after - before) / 1024:.1f} MiB (< 32 MiB)")


# ---- 4. unauthorized callers on a system-style bus ------------------------------------------------

def check_policy(c: Checks, w: World) -> None:
    policy = w.dir / "policy.conf"
    shutil.copyfile(REPO / "systemd" / "org.mhafailback.Supervisor1.conf", policy)
    conf = w.dir / "system-bus.conf"
    conf.write_text(SYSTEM_BUS_CONF.format(socket=w.dir / "system_bus_socket", policy=policy))
    os.chmod(conf, 0o644)
    bus = w.bus(conf)
    daemon, _ = w.daemon(bus, w.config(name="system.json"))
    c.check(prop(bus, "Mode", prefix=NOBODY) == "approve", "an unprivileged caller may read the properties")
    calls = [(CLUSTER_PATH, CLUSTER_IF, "Failback", ["string:x"]), (CLUSTER_PATH, CLUSTER_IF, "SetMode", ["string:auto"]),
             (CLUSTER_PATH, CLUSTER_IF, "Abort", []), (CLUSTER_PATH, CLUSTER_IF, "Acknowledge", []),
             (CLUSTER_PATH, CLUSTER_IF, "Rejoin", []), (CLUSTER_PATH, CLUSTER_IF, "Plan", []),
             (CLUSTER_PATH, CLUSTER_IF, "SetMode", ["int32:1"]), (CLUSTER_PATH, CLUSTER_IF, "Explode", []),
             (ROOT_PATH, MANAGER_IF, "ListClusters", []),
             (CLUSTER_PATH, PROPS_IF, "Set", [f"string:{CLUSTER_IF}", "string:Mode", "variant:string:auto"])]
    for path, iface, member, args in calls:
        r = dbus_send(bus, path, iface, member, *args, prefix=NOBODY)
        c.check(r.returncode != 0 and r.stderr.startswith("Error org.freedesktop.DBus.Error.AccessDenied: "),
                f"uid 65534 calling {member}({' '.join(args)}): {r.stderr.strip()[:130]}")
    c.check(prop(bus, "Mode") == "approve", f"root sees the mode unchanged: {prop(bus, 'Mode')}")
    r = call(bus, CLUSTER_PATH, CLUSTER_IF, "SetMode", "s", "observe")
    c.check(r.returncode == 0 and prop(bus, "Mode") == "observe", f"root may call SetMode: {r.stderr.strip()}")
    c.check(daemon.poll() is None, "the daemon is alive after the unauthorized calls")


def main() -> int:
    c = Checks("test_dbus_abuse")
    w = World()
    try:
        check_hostnames(c, w)
        bus = w.bus()
        daemon, log = w.daemon(bus, w.config())
        check_malformed(c, bus)
        check_flood(c, bus, daemon, log)
        c.check(daemon.poll() is None, "the daemon is alive after all the abuse on the session bus")
        check_policy(c, w)
        daemon.send_signal(signal.SIGTERM)
        c.check(daemon.wait(30) == 0, "the daemon exits 0 on SIGTERM after the abuse")
    except Exception as e:  # noqa: BLE001 - report, then clean up
        import traceback
        traceback.print_exc()
        c.check(False, f"unexpected error: {e}")
    finally:
        w.stop()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
