"""End-to-end tests of mha-failbackd and mha-failbackctl as real processes.

Every test starts what it needs itself: a private dbus-daemon (session-style, or system-style with
the shipped policy file), a real systemd-journald in a private mount namespace, a datagram socket
standing in for systemd's NOTIFY_SOCKET. The supervised cluster points at 127.0.0.41/42 where
nothing listens: the engine finds no server, which exercises the whole daemon without a lab.

Environment: MHAFBD, MHAFBCTL, JOURNAL_PROBE (built binaries), MHAFB_SOURCE_DIR.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

MHAFBD = os.environ.get("MHAFBD", "mha-failbackd")
MHAFBCTL = os.environ.get("MHAFBCTL", "mha-failbackctl")
JOURNAL_PROBE = os.environ.get("JOURNAL_PROBE", "journal_probe")
SRC = os.environ.get("MHAFB_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
HERE = os.path.dirname(os.path.abspath(__file__))
BUS_NAME = "org.mhafailback.Supervisor1"
CLUSTER_PATH = "/org/mhafailback/Supervisor1/cluster/"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

MHA_CONF = """[server default]
user=admin
password=adminpw
repl_user=repl
repl_password=replpw
manager_workdir={work}
ssh_user=root

[server1]
hostname={a}
candidate_master=1

[server2]
hostname={b}
candidate_master=1
"""


class Env:
    """A temporary directory with MHA confs and a daemon config for clusters on dead addresses."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mhafbd-e2e-")
        os.chmod(self.dir, 0o755)  # the unprivileged client must reach the bus socket in here
        self.state = os.path.join(self.dir, "state")
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.state)
        os.makedirs(self.work)
        self.key = os.path.join(self.dir, "id_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.key], check=True,
                       stdout=subprocess.DEVNULL)
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        open(self.known_hosts, "w").close()
        self.config = os.path.join(self.dir, "mha-failback.json")
        self.write_config(["app1"])

    def mha_conf(self, name, a, b):
        path = os.path.join(self.dir, name + ".cnf")
        with open(path, "w") as f:
            f.write(MHA_CONF.format(work=self.work, a=a, b=b))
        return path

    def cluster(self, name, a="127.0.0.41", b="127.0.0.42"):
        return {"name": name, "mha_conf": self.mha_conf(name, a, b),
                "ssh": {"identity_file": self.key, "known_hosts": self.known_hosts, "connect_timeout_ms": 500},
                "timeouts": {"sql_timeout_ms": 1000, "probe_interval_ms": 500}}

    def write_config(self, names, raw=None):
        with open(self.config, "w") as f:
            if raw is not None:
                f.write(raw)
            else:
                json.dump({"state_dir": self.state, "log_level": "debug",
                           "clusters": [self.cluster(n, "127.0.0.%d" % (41 + 2 * i), "127.0.0.%d" % (42 + 2 * i))
                                        for i, n in enumerate(names)]}, f, indent=2)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Bus:
    """A private dbus-daemon: session-style, or with a config file."""

    def __init__(self, config_file=None):
        args = ["dbus-daemon", "--nofork", "--print-address"]
        args.append("--config-file=" + config_file if config_file else "--session")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.address = self.proc.stdout.readline().strip()
        assert self.address, "dbus-daemon printed no address"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Daemon:
    def __init__(self, env, bus_address, extra_env=None, prefix=()):
        self.log_path = os.path.join(env.dir, "daemon-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "w")
        e = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            e.pop(k, None)
        e.update(extra_env or {})
        self.started = time.monotonic()
        self.proc = subprocess.Popen(list(prefix) + [MHAFBD, "--config", env.config, "--bus", bus_address],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.bus = bus_address

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_for_log(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.output()):
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return bool(re.search(pattern, self.output()))

    def wait_ready(self, timeout=20):
        ok = self.wait_for_log(r"ready: \d+ cluster", timeout)
        assert ok, "daemon not ready:\n" + self.output()

    def signal(self, signo):
        self.proc.send_signal(signo)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            if not self.log.closed:
                self.log.close()


def ctl(bus, *args, prefix=(), timeout=60, env=None):
    return subprocess.run(list(prefix) + [MHAFBCTL, "--bus", bus] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env)


def env_for_dead_bus():
    """The environment for a command line that will fail to connect: under LeakSanitizer, the one
    known leak of sdbus-c++ 1.2 on that path is suppressed (see the .supp file), nothing else."""
    e = dict(os.environ)
    supp = os.path.join(HERE, "lsan-sdbus-connect-failure.supp")
    e["LSAN_OPTIONS"] = (e.get("LSAN_OPTIONS", "") + ":suppressions=" + supp).lstrip(":")
    return e


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.env = Env()

    def tearDown(self):
        self.env.cleanup()

    def test_valid_config_prints_a_summary_and_exits_0(self):
        self.env.write_config(["app1", "app2"])
        r = subprocess.run([MHAFBD, "--check-config", "--config", self.env.config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("\n"), 1)
        self.assertIn("valid: 2 cluster(s) (app1, app2)", r.stdout)
        self.assertIn(self.env.state, r.stdout)

    def test_every_error_is_printed_and_exit_is_1(self):
        cfg = {"state_dir": "relative/dir", "clusters": [
            {"name": "a", "mha_conf": os.path.join(self.env.dir, "missing.cnf"), "mode": "sometimes"}]}
        self.env.write_config(None, raw=json.dumps(cfg))
        r = subprocess.run([MHAFBD, "--check-config", "--config", self.env.config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        # One line per error, "FILE: KEY: expected ..., found ..." (FILE is the MHA conf for its errors).
        lines = [l for l in r.stderr.splitlines() if ": expected " in l]
        self.assertGreaterEqual(len(lines), 3, r.stderr)
        self.assertTrue(any("state_dir" in l for l in lines), r.stderr)
        self.assertTrue(any("clusters[0].mode" in l for l in lines), r.stderr)
        self.assertTrue(any("missing.cnf" in l for l in lines), r.stderr)
        self.assertEqual(r.stdout, "")

    def test_unparsable_json(self):
        self.env.write_config(None, raw="{")
        r = subprocess.run([MHAFBD, "--check-config", "--config", self.env.config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("expected valid JSON", r.stderr)

    def test_daemon_refuses_to_start_with_an_invalid_config(self):
        self.env.write_config(None, raw="{}")
        r = subprocess.run([MHAFBD, "--config", self.env.config, "--bus", "unix:path=/nonexistent"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 78, r.stderr)  # EX_CONFIG: the unit does not restart on it
        self.assertIn("clusters", r.stderr)

    def test_version_help_and_bad_options(self):
        r = subprocess.run([MHAFBD, "--version"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^mha-failbackd \d+\.\d+\.\d+\n$")
        r = subprocess.run([MHAFBD, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for opt in ("--config", "--check-config", "--print-fsm", "--dry-run", "--bus"):
            self.assertIn(opt, r.stdout)
        r = subprocess.run([MHAFBD, "--bogus"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown option --bogus", r.stderr)


class PrintFsm(unittest.TestCase):
    def test_dot_graph_names_every_state(self):
        r = subprocess.run([MHAFBD, "--print-fsm"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        dot = r.stdout
        self.assertTrue(dot.startswith("digraph"), dot[:40])
        self.assertEqual(dot.count("{"), dot.count("}"))
        for state in ("healthy", "degraded", "slave-rejoined", "validated", "switched-back", "blocked"):
            self.assertIn('"%s"' % state, dot)
        edges = re.findall(r'"([a-z-]+)" -> "([a-z-]+)"', dot)
        self.assertGreater(len(edges), 6)
        if shutil.which("dot"):
            self.assertEqual(subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True).returncode, 0)


class SessionBus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = Env()
        cls.bus = Bus()
        cls.daemon = Daemon(cls.env, cls.bus.address)
        cls.daemon.wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.bus.stop()
        cls.env.cleanup()

    def test_status_table_and_json(self):
        r = ctl(self.bus.address, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split()[:6], ["CLUSTER", "STATE", "MODE", "MASTER", "PREFERRED", "OPERATION"])
        self.assertTrue(lines[1].startswith("app1 "), r.stdout)
        r = ctl(self.bus.address, "status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = json.loads(r.stdout)
        self.assertEqual(len(data), 1)
        c = data[0]
        self.assertEqual(c["name"], "app1")
        self.assertEqual(c["preferred_master"], "127.0.0.41")
        self.assertIn(c["mode"], ("observe", "approve", "auto"))
        self.assertIn(c["state"], ("healthy", "degraded", "slave-rejoined", "validated", "switched-back", "blocked"))
        self.assertTrue(c["status"], "the decision sentence must not be empty")
        self.assertEqual(c["operation"], "")

    def test_introspection_is_complete(self):
        r = subprocess.run(["busctl", "--address=" + self.bus.address, "introspect", "--xml-interface", BUS_NAME,
                            CLUSTER_PATH + "app1"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        for needle in ('name="Failback"', 'name="reason"', 'name="Plan"', 'name="steps"', 'name="SetMode"',
                       'name="mode"', 'name="StateChanged"', 'name="from"', 'name="to"', 'name="LastError"',
                       'name="Operation"', 'name="PreferredMaster"', 'name="Acknowledge"', 'name="Rejoin"',
                       'name="Abort"'):
            self.assertIn(needle, r.stdout)

    def test_refusals_carry_the_daemon_sentence(self):
        r = ctl(self.bus.address, "failback", "app1", "--reason", "e2e")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertTrue(r.stderr.startswith("mha-failbackctl: "), r.stderr)
        self.assertIn("app1", r.stderr)
        # The same sentence went to the audit log.
        sentence = r.stderr[len("mha-failbackctl: "):].strip()
        self.assertTrue(self.daemon.wait_for_log(re.escape(sentence), 5), self.daemon.output())

    def test_plan_lists_steps(self):
        r = ctl(self.bus.address, "plan", "app1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^1\. ")

    def test_unknown_cluster_and_bad_mode(self):
        r = ctl(self.bus.address, "rejoin", "nosuch")
        self.assertEqual(r.returncode, 4)
        self.assertIn("No cluster named 'nosuch'", r.stderr)
        self.assertIn("app1", r.stderr)
        r = ctl(self.bus.address, "mode", "app1", "sometimes")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not one of observe, approve or auto", r.stderr)

    def test_mode_change_is_seen_by_watch(self):
        watch = subprocess.Popen([MHAFBCTL, "--bus", self.bus.address, "watch", "app1"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            self.assertIn("Watching app1", watch.stdout.readline())
            time.sleep(0.3)
            target = "observe" if ctl(self.bus.address, "status", "--json").stdout.find('"approve"') >= 0 else "approve"
            r = ctl(self.bus.address, "mode", "app1", target)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("set to " + target, r.stdout)
            deadline = time.monotonic() + 10
            seen = ""
            while time.monotonic() < deadline:
                line = watch.stdout.readline()
                seen += line
                if "Mode = " + target in line:
                    break
            self.assertIn("app1: Mode = " + target, seen)
            status = json.loads(ctl(self.bus.address, "status", "--json").stdout)[0]
            self.assertEqual(status["mode"], target)
        finally:
            watch.terminate()
            watch.wait(10)

    def test_dry_run_starts_and_says_so(self):
        other = Bus()
        e = dict(os.environ)
        log = os.path.join(self.env.dir, "dry.log")
        with open(log, "w") as f:
            p = subprocess.Popen([MHAFBD, "--dry-run", "--config", self.env.config, "--bus", other.address],
                                 stdout=f, stderr=subprocess.STDOUT, env=e)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and "ready:" not in open(log).read():
                time.sleep(0.05)
            out = open(log).read()
            self.assertIn("started in dry-run mode", out)
            self.assertIn("ready:", out)
            self.assertEqual(ctl(other.address, "status").returncode, 0)
        finally:
            p.terminate()
            self.assertEqual(p.wait(30), 0)
            other.stop()

    def test_watch_ends_when_the_daemon_leaves(self):
        other = Bus()
        d = Daemon(self.env, other.address)
        try:
            d.wait_ready()
            watch = subprocess.Popen([MHAFBCTL, "--bus", other.address, "watch"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
            self.assertIn("Watching every cluster", watch.stdout.readline())
            time.sleep(0.3)
            self.assertEqual(d.stop(), 0)
            rc = watch.wait(15)
            self.assertEqual(rc, 3)
            self.assertIn("mha-failbackd left the bus", watch.stdout.read())
        finally:
            d.stop()
            other.stop()

    def test_second_daemon_cannot_take_the_name(self):
        d = Daemon(self.env, self.bus.address)
        rc = d.proc.wait(30)
        d.log.close()
        self.assertEqual(rc, 1)
        self.assertIn("cannot own the bus name", d.output())

    def test_ctl_without_daemon_exits_3(self):
        other = Bus()
        try:
            r = ctl(other.address, "status")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("not running", r.stderr)
        finally:
            other.stop()
        r = ctl("unix:path=/nonexistent/bus", "status", env=env_for_dead_bus())
        self.assertEqual(r.returncode, 3, r.stderr)


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
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


class SystemBusPolicy(unittest.TestCase):
    """A system-style bus (deny by default, like Debian's system.conf) with the shipped policy."""

    def start(self, policy_text):
        policy = os.path.join(self.env.dir, "policy.conf")
        with open(policy, "w") as f:
            f.write(policy_text)
        conf = os.path.join(self.env.dir, "system-bus.conf")
        with open(conf, "w") as f:
            f.write(SYSTEM_BUS_CONF.format(socket=os.path.join(self.env.dir, "system_bus_socket"), policy=policy))
        self.bus = Bus(conf)
        self.daemon = Daemon(self.env, self.bus.address)
        self.daemon.wait_ready()

    def setUp(self):
        self.env = Env()
        self.bus = None
        self.daemon = None
        with open(os.path.join(SRC, "systemd", "org.mhafailback.Supervisor1.conf")) as f:
            self.policy = f.read()

    def tearDown(self):
        if self.daemon:
            self.daemon.stop()
        if self.bus:
            self.bus.stop()
        self.env.cleanup()

    def test_unprivileged_caller_reads_but_cannot_call(self):
        self.start(self.policy)
        r = ctl(self.bus.address, "status", "--json", prefix=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)[0]["name"], "app1")
        r = subprocess.run(NOBODY + ["busctl", "--address=" + self.bus.address, "introspect", BUS_NAME,
                                     CLUSTER_PATH + "app1"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(".Failback", r.stdout)
        for args in (["mode", "app1", "observe"], ["failback", "app1"], ["ack", "app1"], ["abort", "app1"],
                     ["plan", "app1"]):
            r = ctl(self.bus.address, *args, prefix=NOBODY)
            self.assertEqual(r.returncode, 5, "%s: %s" % (args, r.stderr))
            self.assertIn("Access denied", r.stderr)
        # Nothing changed: root still sees the mode it had.
        self.assertEqual(json.loads(ctl(self.bus.address, "status", "--json").stdout)[0]["mode"], "approve")
        # Root may call.
        r = ctl(self.bus.address, "mode", "app1", "observe")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_the_group_may_call(self):
        # The same policy with the group rule pointed at nobody's own group (nogroup, 65534): the group
        # section, not the default one, lets the call through.
        self.start(self.policy.replace('group="mha-failback"', 'group="nogroup"'))
        r = ctl(self.bus.address, "mode", "app1", "observe", prefix=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(ctl(self.bus.address, "status", "--json").stdout)[0]["mode"], "observe")

    def test_only_root_may_own_the_name(self):
        self.start(self.policy)
        self.daemon.stop()
        self.daemon = None
        # A configuration nobody can load (observe mode needs no SSH key; a state dir it may write).
        state = os.path.join(self.env.dir, "nobody-state")
        os.makedirs(state)
        os.chmod(state, 0o777)
        cluster = self.env.cluster("app1")
        cluster["mode"] = "observe"
        del cluster["ssh"]
        self.env.write_config(None, raw=json.dumps({"state_dir": state, "clusters": [cluster]}))
        d = Daemon(self.env, self.bus.address, prefix=NOBODY)
        rc = d.proc.wait(30)
        d.log.close()
        self.assertEqual(rc, 1, d.output())
        self.assertIn("cannot own the bus name", d.output())


class NotifySocket:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + path[1:] if path.startswith("@") else path)
        self.sock.settimeout(0.2)
        self.messages = []

    def collect_until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))
            except socket.timeout:
                pass
            if predicate(self.texts()):
                return True
        return predicate(self.texts())

    def texts(self):
        return [m for _, m in self.messages]

    def close(self):
        self.sock.close()


class Notify(unittest.TestCase):
    def setUp(self):
        self.env = Env()
        self.bus = Bus()

    def tearDown(self):
        self.bus.stop()
        self.env.cleanup()

    def run_with(self, address):
        n = NotifySocket(address)
        try:
            started = time.monotonic()
            d = Daemon(self.env, self.bus.address, {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"})
            self.addCleanup(d.stop)
            self.assertTrue(n.collect_until(lambda t: "READY=1" in t, 30), n.texts())
            ready_after = next(ts for ts, m in n.messages if m == "READY=1") - started
            print("\nstartup to READY=1: %.0f ms" % (ready_after * 1000))
            # The name is owned and every cluster was looked at before READY=1.
            self.assertEqual(ctl(self.bus.address, "status").returncode, 0)
            statuses = [m for m in n.texts() if m.startswith("STATUS=")]
            self.assertTrue(statuses, n.texts())
            self.assertTrue(statuses[-1].startswith("STATUS=app1: "), statuses)
            self.assertTrue(n.collect_until(lambda t: t.count("WATCHDOG=1") >= 3, 5), n.texts())
            d.signal(signal.SIGTERM)
            self.assertTrue(n.collect_until(lambda t: "STOPPING=1" in t, 10), n.texts())
            self.assertEqual(d.stop(), 0, d.output())
            texts = n.texts()
            self.assertLess(texts.index("READY=1"), texts.index("STOPPING=1"))
            self.assertEqual(texts.count("READY=1"), 1)
            for m in texts:
                self.assertRegex(m, r"^(READY=1|STOPPING=1|WATCHDOG=1|RELOADING=1|STATUS=.+)$")
            return ready_after
        finally:
            n.close()

    def test_path_socket(self):
        self.run_with(os.path.join(self.env.dir, "notify.sock"))

    def test_abstract_socket(self):
        self.run_with("@mhafbd-e2e-notify-%d" % os.getpid())

    def test_reload_is_announced(self):
        path = os.path.join(self.env.dir, "notify3.sock")
        n = NotifySocket(path)
        try:
            d = Daemon(self.env, self.bus.address, {"NOTIFY_SOCKET": path})
            self.addCleanup(d.stop)
            self.assertTrue(n.collect_until(lambda t: "READY=1" in t, 30), n.texts())
            d.signal(signal.SIGHUP)
            self.assertTrue(n.collect_until(lambda t: t.count("READY=1") == 2, 10), n.texts())
            texts = n.texts()
            first, second = [i for i, m in enumerate(texts) if m == "READY=1"]
            self.assertIn("RELOADING=1", texts[first:second])
            self.assertEqual(d.stop(), 0)
        finally:
            n.close()

    def test_watchdog_is_withheld_without_watchdog_usec(self):
        path = os.path.join(self.env.dir, "notify2.sock")
        n = NotifySocket(path)
        try:
            d = Daemon(self.env, self.bus.address, {"NOTIFY_SOCKET": path})
            self.addCleanup(d.stop)
            self.assertTrue(n.collect_until(lambda t: "READY=1" in t, 30), n.texts())
            n.collect_until(lambda t: False, 1.5)
            self.assertNotIn("WATCHDOG=1", n.texts())
            self.assertEqual(d.stop(), 0)
        finally:
            n.close()


class Signals(unittest.TestCase):
    def setUp(self):
        self.env = Env()
        self.bus = Bus()
        self.daemon = Daemon(self.env, self.bus.address)
        self.daemon.wait_ready()

    def tearDown(self):
        self.daemon.stop()
        self.bus.stop()
        self.env.cleanup()

    def clusters(self):
        r = ctl(self.bus.address, "status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return [c["name"] for c in json.loads(r.stdout)]

    def test_sighup_with_a_broken_config_keeps_the_old_one(self):
        self.env.write_config(None, raw=json.dumps({"clusters": [{"name": "x", "mode": "sometimes"}]}))
        self.daemon.signal(signal.SIGHUP)
        self.assertTrue(self.daemon.wait_for_log(r"Configuration reload rejected: \d+ error\(s\)"), self.daemon.output())
        out = self.daemon.output()
        self.assertRegex(out, r"configuration reload rejected: .*clusters\[0\]\.mode")
        self.assertRegex(out, r"configuration reload rejected: .*mha_conf")
        self.assertIsNone(self.daemon.proc.poll())
        self.assertEqual(self.clusters(), ["app1"])

    def test_sighup_with_a_valid_config_adds_and_removes_clusters(self):
        self.env.write_config(["app1", "app2"])
        self.daemon.signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.clusters() != ["app1", "app2"]:
            time.sleep(0.1)
        self.assertEqual(self.clusters(), ["app1", "app2"])
        self.env.write_config(["app2"])
        self.daemon.signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.clusters() != ["app2"]:
            time.sleep(0.1)
        self.assertEqual(self.clusters(), ["app2"])
        self.assertIn("app1 is no longer configured", self.daemon.output())

    def test_sigterm_exits_0_after_stopping_every_cluster(self):
        self.assertEqual(self.daemon.stop(), 0, self.daemon.output())
        out = self.daemon.output()
        self.assertIn("cluster app1: stopped", out)
        self.assertTrue(out.rstrip().endswith("stopped"), out[-300:])

    def test_sigint_exits_0(self):
        self.daemon.signal(signal.SIGINT)
        self.assertEqual(self.daemon.proc.wait(30), 0)


class Journal(unittest.TestCase):
    """A real journald in a private mount namespace; records read back with journalctl -D."""

    def setUp(self):
        self.env = Env()
        self.out = os.path.join(self.env.dir, "out")
        os.makedirs(self.out)

    def tearDown(self):
        self.env.cleanup()

    def in_namespace(self, script):
        r = subprocess.run(["unshare", "-m", os.path.join(HERE, "with_private_journald.sh"), self.out,
                            "bash", "-c", script], capture_output=True, text=True, timeout=120)
        self.assertTrue(os.path.isdir(os.path.join(self.out, "journal")), r.stdout + r.stderr)
        with open(os.path.join(self.out, "rc")) as f:
            self.assertEqual(f.read().strip(), "0", r.stdout + r.stderr)
        return r

    def records(self, *matches):
        r = subprocess.run(["journalctl", "--no-pager", "-o", "json", "-D", os.path.join(self.out, "journal")]
                           + list(matches), capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

    def test_history_falls_back_to_the_state_directory(self):
        state = os.path.join(self.env.dir, "st")
        os.makedirs(os.path.join(state, "history"))
        with open(os.path.join(state, "app1.state.json"), "w") as f:
            f.write('{"state": "validated"}')
        open(os.path.join(state, "history", "app1.failover.complete.20261124T045523Z"), "w").close()
        open(os.path.join(state, "history", "other.failover.complete.20261124T045523Z"), "w").close()
        r = subprocess.run([MHAFBCTL, "history", "app1", "--state-dir", state, "-D", os.path.join(state, "none")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('{"state": "validated"}', r.stdout)
        self.assertIn("app1.failover.complete.20261124T045523Z", r.stdout)
        self.assertNotIn("other.failover", r.stdout)
        r = subprocess.run([MHAFBCTL, "history", "nosuch", "--state-dir", state, "-D", os.path.join(state, "none")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)

    def test_audit_records_carry_every_field(self):
        self.in_namespace(JOURNAL_PROBE)
        recs = self.records("SYSLOG_IDENTIFIER=mha-failbackd")
        self.assertEqual(len(recs), 4, recs)
        t, c, s, log = recs
        self.assertEqual(t["MESSAGE"], "degraded -> slave-rejoined: the old master replicates from the new master")
        self.assertEqual(t["PRIORITY"], "5")
        self.assertEqual(t["MESSAGE_ID"], "417ae298bf064d4e9b76a886cafb2bb9")
        self.assertEqual(t["AUDIT_KIND"], "transition")
        self.assertEqual(t["CLUSTER"], "probe1")
        self.assertEqual(t["STATE"], "slave-rejoined")
        self.assertEqual(t["STATE_FROM"], "degraded")
        self.assertEqual(t["OPERATION_ID"], "op-1234")
        self.assertEqual(t["SERVER"], "db1:3306")
        self.assertEqual(c["MESSAGE_ID"], "a8b15c64692f45b984dbe1a51302fcfd")
        self.assertEqual(c["EXIT_CODE"], "0")
        self.assertEqual(c["DURATION_MS"], "5321")
        self.assertEqual(c["ARGV"], "masterha_check_repl --conf=x")
        self.assertEqual(c["CLUSTER"], "probe1", "an extra field must not override the record's cluster")
        self.assertNotIn("STATE_FROM", c)
        self.assertNotEqual(c.get("_PID"), "1")
        self.assertEqual(s["MESSAGE"], "CHANGE MASTER TO master_host='db2', master_password='***'\nSTART SLAVE")
        self.assertEqual(s["PRIORITY"], "4")
        self.assertEqual(log["MESSAGE"], "a plain log line with 1 fields")
        self.assertEqual(log["PRIORITY"], "3")
        self.assertEqual(log["CLUSTER"], "probe1")
        self.assertNotIn("MESSAGE_ID", log)

    def test_without_journald_every_record_goes_to_stderr(self):
        # A namespace with an empty /run/systemd: no journal socket at all.
        r = subprocess.run(["unshare", "-m", "bash", "-c",
                            "mount --make-rprivate / && mount -t tmpfs tmpfs /run/systemd && " + JOURNAL_PROBE],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 4, r.stderr)
        self.assertTrue(lines[0].startswith("notice mha-failbackd: degraded -> slave-rejoined"), lines[0])
        for f in ("MESSAGE_ID=417ae298bf064d4e9b76a886cafb2bb9", "CLUSTER=probe1", "STATE=slave-rejoined",
                  "STATE_FROM=degraded", "OPERATION_ID=op-1234", "SERVER=db1:3306"):
            self.assertIn(f, lines[0])
        self.assertIn("EXIT_CODE=0", lines[1])
        self.assertTrue(lines[3].startswith("error mha-failbackd: a plain log line"), lines[3])

    def test_daemon_decisions_and_lifecycle_reach_the_journal(self):
        bus = Bus()
        try:
            script = """
{d} --config {cfg} --bus '{bus}' & pid=$!
for i in $(seq 200); do
  journalctl -D /run/log/journal SYSLOG_IDENTIFIER=mha-failbackd 2>/dev/null | grep -q 'ready:' && break
  sleep 0.1
done
kill -TERM $pid
wait $pid
""".format(d=MHAFBD, cfg=self.env.config, bus=bus.address)
            self.in_namespace(script)
        finally:
            bus.stop()
        recs = self.records("SYSLOG_IDENTIFIER=mha-failbackd")
        messages = [r["MESSAGE"] for r in recs]
        self.assertTrue(any(m.startswith("mha-failbackd ") and "started" in m for m in messages), messages)
        self.assertTrue(any(m.startswith("ready:") for m in messages), messages)
        self.assertEqual(messages[-1], "stopped")
        decisions = self.records("MESSAGE_ID=e9ac3103c7e144c3849af21e139fdd39")
        self.assertTrue(decisions, messages)
        for d in decisions:
            self.assertEqual(d["CLUSTER"], "app1")
            self.assertEqual(d["SYSLOG_IDENTIFIER"], "mha-failbackd")
            self.assertIn(d["STATE"], ("healthy", "degraded", "slave-rejoined", "validated", "switched-back", "blocked"))
        # The command line reads the same records back.
        r = subprocess.run([MHAFBCTL, "history", "app1", "-D", os.path.join(self.out, "journal")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(decisions[0]["MESSAGE"], r.stdout)
        self.assertIn("decision", r.stdout)


class Catalog(unittest.TestCase):
    def test_catalog_compiles_and_covers_every_message_id(self):
        with open(os.path.join(SRC, "lib", "ports", "audit_sink.cpp")) as f:
            ids = set(re.findall(r'return "([0-9a-f]{32})";', f.read()))
        self.assertEqual(len(ids), 12)
        with tempfile.TemporaryDirectory() as root:
            d = os.path.join(root, "usr", "lib", "systemd", "catalog")
            os.makedirs(d)
            shutil.copy(os.path.join(SRC, "docs", "mha-failback.catalog"), d)
            r = subprocess.run(["journalctl", "--update-catalog", "--root=" + root], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr.strip(), "")
            r = subprocess.run(["journalctl", "--root=" + root, "--list-catalog"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            listed = {l.split()[0] for l in r.stdout.splitlines() if l.strip()}
            self.assertEqual(listed, ids)
            for line in r.stdout.splitlines():
                self.assertRegex(line, r"^[0-9a-f]{32} mha-failback: \S")


class Units(unittest.TestCase):
    def unit_with_build_binary(self, tmp):
        with open(os.path.join(SRC, "systemd", "mha-failbackd.service")) as f:
            text = f.read().replace("/usr/sbin/mha-failbackd", os.path.abspath(MHAFBD))
        path = os.path.join(tmp, "mha-failbackd.service")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_verify_is_clean(self):
        with tempfile.TemporaryDirectory() as tmp:
            unit = self.unit_with_build_binary(tmp)
            manager = os.path.join(tmp, "mha-manager@app1.service")
            shutil.copy(os.path.join(SRC, "systemd", "mha-manager@.service"), manager)
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit, manager], capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr.strip(), "")

    def test_security_exposure_at_most_3(self):
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                            os.path.join(SRC, "systemd", "mha-failbackd.service")], capture_output=True, text=True)
        m = re.search(r"Overall exposure level for mha-failbackd.service: (\d+\.\d+)", r.stdout + r.stderr)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        print("\nexposure: " + m.group(1))
        self.assertLessEqual(float(m.group(1)), 3.0)

    def test_unit_settings_the_daemon_relies_on(self):
        with open(os.path.join(SRC, "systemd", "mha-failbackd.service")) as f:
            text = f.read()
        for line in ("Type=notify", "BusName=org.mhafailback.Supervisor1", "Restart=on-failure",
                     "StateDirectory=mha-failback", "KillMode=mixed", "RestartPreventExitStatus=78"):
            self.assertIn("\n" + line + "\n", text)
        self.assertRegex(text, r"\nWatchdogSec=\d+")
        self.assertNotRegex(text, r"\nPrivateTmp=yes", "the MHA failover flag lives in /var/tmp by default")
        with open(os.path.join(SRC, "systemd", "mha-manager@.service")) as f:
            self.assertIn("\nRestart=no\n", f.read())


# ---- the .deb ---------------------------------------------------------------------------------

PKG = "mha-failback"
PKG_FILES = ("/usr/sbin/mha-failbackd", "/usr/bin/mha-failbackctl",
             "/lib/systemd/system/mha-failbackd.service", "/lib/systemd/system/mha-manager@.service",
             "/usr/share/dbus-1/system.d/org.mhafailback.Supervisor1.conf",
             "/usr/lib/systemd/catalog/mha-failback.catalog",
             "/usr/share/man/man8/mha-failbackd.8.gz", "/usr/share/man/man1/mha-failbackctl.1.gz",
             "/usr/share/doc/mha-failback/copyright", "/etc/mha-failback/mha-failback.json")
WANTS_LINK = "/etc/systemd/system/multi-user.target.wants/mha-failbackd.service"
# What purge must leave of the package: nothing but the system group (Debian keeps system groups,
# packaging/README.md), the dpkg bookkeeping that records what happened, and caches rebuilt by
# the triggers of other packages (man-db, systemd's catalog).
PURGE_MAY_CHANGE = ("var/lib/man-db/auto-update", "etc/group", "etc/group-", "etc/gshadow", "etc/gshadow-", "etc/.pwd.lock",
                    "var/log/dpkg.log", "var/lib/dpkg/", "var/cache/man/", "var/lib/systemd/catalog/database",
                    "var/cache/debconf/", "var/lib/systemd/deb-systemd-helper-enabled/",
                    "var/lib/systemd/deb-systemd-helper-masked/")
# The site files the example configuration names, as an administrator provides them.
SITE_MHA_CONF = """[server default]
user=mha
password=site-admin-secret
repl_user=repl
repl_password=site-repl-secret
ssh_user=root
manager_workdir=/var/tmp

[server1]
hostname=192.168.10.1
candidate_master=1

[server2]
hostname=192.168.10.2
candidate_master=1
"""
SITE_FILES = ("/etc/mha/app1.cnf", "/etc/mha-failback/id_ed25519", "/etc/mha-failback/id_ed25519.pub",
              "/etc/mha-failback/app1-repl.password")


def build_deb(out):
    """cpack's DEB generator on the build directory (MHAFB_BUILD_DIR); returns the .deb's path.
    A test build has the crash-test stop points compiled in, and packaging/refuse-test-hooks.cmake
    stops cpack from packaging such binaries. This .deb only lives in a temporary directory and is
    installed where the test says, never shipped (the stop points do nothing unless
    MHAFB_TEST_STOP_AT is set), so the guard is lifted for it alone."""
    build = os.environ["MHAFB_BUILD_DIR"]
    r = subprocess.run(["cpack", "-G", "DEB", "-B", out, "-D", "CPACK_MHAFB_TEST_HOOKS=OFF"], cwd=build,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    if len(debs) != 1:
        raise AssertionError("expected one .deb, found " + str(os.listdir(out)))
    return os.path.join(out, debs[0])


class HostRoot:
    """This machine's own root: dpkg really installs here (MHAFB_TEST_DPKG=1 only)."""

    def run(self, *argv, input=None):
        return subprocess.run(list(argv), capture_output=True, text=True, input=input, timeout=120)

    def path(self, p):
        return p


class OverlayRoot:
    """A copy-on-write view of this machine's / in a private mount namespace: an overlay with the
    host's / as its read-only lower layer and the upper layer on a tmpfs that exists only in that
    namespace, with /proc, /sys and /dev bound in and fresh tmpfs on /run and /tmp. Commands run
    chrooted into it (nsenter + chroot); the test reads its files through /proc/PID/root. The host
    is never written: every change lands in the upper layer, which vanishes with the namespace.
    (The upper layer cannot be a plain directory under /: overlayfs refuses an upper directory
    inside its lower layer.)"""

    SETUP = r"""set -e
b=$0
mount -t tmpfs -o mode=0700 tmpfs "$b"
mkdir "$b/upper" "$b/work" "$b/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$b/upper,workdir=$b/work" "$b/root"
for d in proc sys dev; do mount --rbind "/$d" "$b/root/$d"; done
mount -t tmpfs -o mode=0755 tmpfs "$b/root/run"
mount -t tmpfs -o mode=1777 tmpfs "$b/root/tmp"
mkdir "$b/root/tmp/pkg"
mount --bind "$1" "$b/root/tmp/pkg"
touch "$b/ready"
exec sleep infinity
"""

    def __init__(self, share_dir):
        self.base = tempfile.mkdtemp(prefix="mhafb-overlay-", dir="/tmp")
        # PR_SET_PDEATHSIG: should this test die without stop(), the holder (and with it the
        # namespace and every mount in it) dies too.
        libc = ctypes.CDLL(None, use_errno=True)
        self.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", self.SETUP,
                                        self.base, share_dir], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       preexec_fn=lambda: libc.prctl(1, signal.SIGKILL))
        self.ns = "/proc/%d/root%s" % (self.holder.pid, self.base)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.ns + "/ready"):
            if self.holder.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("cannot set up the overlay of /: " + (self.holder.stdout.read() or "timeout"))
            time.sleep(0.02)

    def run(self, *argv, input=None):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
               "DEBIAN_FRONTEND": "noninteractive"}
        return subprocess.run(["nsenter", "-t", str(self.holder.pid), "-m", "--", "chroot", self.base + "/root"]
                              + list(argv), capture_output=True, text=True, input=input, env=env, timeout=120)

    def path(self, p):
        return self.ns + "/root" + p

    def upper_entries(self):
        """Every path the overlay's upper layer holds, relative to /, with 'dir', 'whiteout' or 'file'."""
        top = self.ns + "/upper"
        out = {}
        for dirpath, dirnames, filenames in os.walk(top):
            rel = os.path.relpath(dirpath, top)
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                st = os.lstat(full)
                kind = "dir" if stat.S_ISDIR(st.st_mode) else \
                    "whiteout" if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0 else "file"
                out[os.path.normpath(os.path.join(rel, name))] = kind
        return out

    def stop(self):
        if self.holder.poll() is None:
            self.holder.terminate()
        self.holder.wait(10)
        self.holder.stdout.close()
        os.rmdir(self.base)  # empty on the host: the tmpfs was mounted over it in the namespace only


class PackageChecks:
    """Install, remove and purge the .deb in a root, asserting what each step leaves."""

    def dpkg_status(self, root):
        r = root.run("dpkg-query", "-W", "-f=${Status}", PKG)
        return r.stdout.strip() if r.returncode == 0 else ""

    def install_remove_purge(self, root, deb):
        self.assertEqual(self.dpkg_status(root), "", PKG + " is already installed in this root")
        r = root.run("dpkg", "-i", deb)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.dpkg_status(root), "install ok installed")
        for p in PKG_FILES:
            self.assertTrue(os.path.exists(root.path(p)), p)
        self.assertEqual(os.stat(root.path("/usr/sbin/mha-failbackd")).st_mode & 0o777, 0o755)
        # postinst: a system group, the state directory, the service enabled (not started: no systemd).
        r = root.run("getent", "group", PKG)
        self.assertEqual(r.returncode, 0, "postinst created no group " + PKG)
        self.assertLess(int(r.stdout.split(":")[2]), 1000, "not a system group: " + r.stdout)
        self.assertNotEqual(root.run("getent", "passwd", PKG).returncode, 0, "postinst creates no user")
        st = os.stat(root.path("/var/lib/mha-failback"))
        self.assertEqual((st.st_mode & 0o777, st.st_uid, st.st_gid), (0o750, 0, 0))
        self.assertEqual(os.readlink(root.path(WANTS_LINK)), "/lib/systemd/system/mha-failbackd.service")
        r = root.run("systemd-analyze", "verify", "--man=no", "/lib/systemd/system/mha-failbackd.service",
                     "/lib/systemd/system/mha-manager@.service")
        self.assertEqual((r.returncode, r.stderr.strip()), (0, ""))
        # The dpkg trigger of systemd compiled the catalog: journalctl -x finds our MESSAGE_IDs.
        r = root.run("journalctl", "--list-catalog", "417ae298bf064d4e9b76a886cafb2bb9")
        self.assertIn("mha-failback", r.stdout, r.stderr)
        r = root.run("/usr/sbin/mha-failbackd", "--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^mha-failbackd \d+\.\d+\.\d+\n$")
        self.assertEqual(root.run("/usr/bin/mha-failbackctl", "--help").returncode, 0)
        self.check_installed_config(root)

        r = root.run("dpkg", "-r", PKG)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.dpkg_status(root), "deinstall ok config-files")
        for p in PKG_FILES:
            if p.startswith("/etc/"):
                self.assertTrue(os.path.exists(root.path(p)), "remove keeps the conffile " + p)
            else:
                self.assertFalse(os.path.lexists(root.path(p)), "remove left " + p)

        r = root.run("dpkg", "-P", PKG)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.dpkg_status(root), "")
        for p in PKG_FILES + ("/etc/mha-failback", "/var/lib/mha-failback", WANTS_LINK,
                              "/etc/systemd/system/mha-failbackd.service"):
            self.assertFalse(os.path.lexists(root.path(p)), "purge left " + p)
        self.assertEqual(root.run("getent", "group", PKG).returncode, 0, "purge keeps the system group")

    def check_installed_config(self, root):
        """The shipped example is valid once the site files it names exist, and not before."""
        if any(os.path.lexists(root.path(p)) for p in SITE_FILES):
            return  # a real site's files (host install): neither judged nor touched
        r = root.run("/usr/sbin/mha-failbackd", "--check-config")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("/etc/mha/app1.cnf", r.stderr)
        created_mha_dir = not os.path.exists(root.path("/etc/mha"))
        try:
            os.makedirs(root.path("/etc/mha"), exist_ok=True)
            with open(root.path("/etc/mha/app1.cnf"), "w") as f:
                f.write(SITE_MHA_CONF)
            os.chmod(root.path("/etc/mha/app1.cnf"), 0o600)
            r = root.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/etc/mha-failback/id_ed25519")
            self.assertEqual(r.returncode, 0, r.stderr)
            fd = os.open(root.path("/etc/mha-failback/app1-repl.password"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, b"site-repl-secret\n")
            os.close(fd)
            r = root.run("/usr/sbin/mha-failbackd", "--check-config")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("valid: 1 cluster(s) (app1)", r.stdout)
            self.assertNotIn("secret", r.stdout + r.stderr)
        finally:
            for p in SITE_FILES:
                if os.path.lexists(root.path(p)):
                    os.unlink(root.path(p))
            if created_mha_dir and os.path.isdir(root.path("/etc/mha")):
                os.rmdir(root.path("/etc/mha"))


class Package(PackageChecks, unittest.TestCase):
    """Builds the .deb from the build directory (MHAFB_BUILD_DIR), lints it, and installs, removes
    and purges it in an overlay of this machine's / (OverlayRoot): the host is never modified.
    Installed: the files, the system group from postinst, the state directory (0750), the service
    enabled, units that systemd-analyze verify accepts, the compiled catalog, working programs, and
    an example configuration that --check-config accepts once the site files it names exist.
    Removed: the programs and units go, the conffile stays. Purged: nothing of the package is left
    in the overlay's upper layer but the system group and dpkg's own bookkeeping."""

    @classmethod
    def setUpClass(cls):
        cls.out = tempfile.mkdtemp(prefix="mhafb-deb-")
        os.chmod(cls.out, 0o755)
        try:
            cls.deb = build_deb(cls.out)
        except BaseException:
            shutil.rmtree(cls.out, ignore_errors=True)  # tearDownClass does not run after this
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def test_lintian_reports_only_justified_tags(self):
        if not shutil.which("lintian"):
            self.skipTest("lintian is not installed")
        with open(os.path.join(SRC, "packaging", "lintian-justified")) as f:
            accepted = {l.strip() for l in f if l.strip() and not l.startswith("#")}
        r = subprocess.run(["lintian", self.deb], capture_output=True, text=True)
        tags = {l.split()[2] for l in r.stdout.splitlines() if re.match(r"^[EW]: ", l)}
        self.assertEqual(tags - accepted, set(), r.stdout)

    def test_install_remove_purge_in_an_overlay_of_root(self):
        root = OverlayRoot(self.out)
        try:
            # This root is a copy of the host's: a group left by an earlier install on the host would
            # hide whether postinst creates it. Without man-db's auto-update its trigger (half the
            # time of dpkg here) does nothing; both changes stay in the overlay.
            if root.run("getent", "group", PKG).returncode == 0:
                r = root.run("groupdel", PKG)
                self.assertEqual(r.returncode, 0, r.stderr)
            root.run("rm", "-f", "/var/lib/man-db/auto-update")
            self.install_remove_purge(root, "/tmp/pkg/" + os.path.basename(self.deb))
            self.assertEqual(self.leftovers(root), [], "purge left these in the overlay")
        finally:
            root.stop()
        self.assertFalse(os.path.exists(root.base), "the overlay's mount point is left on the host")
        self.assertNotEqual(subprocess.run(["dpkg", "-s", PKG], capture_output=True).returncode, 0,
                            "the host's dpkg database changed")
        for p in ("/usr/sbin/mha-failbackd", "/var/lib/mha-failback", "/etc/mha-failback"):
            self.assertFalse(os.path.lexists(p), "the host got " + p)

    @staticmethod
    def leftovers(root):
        """What the overlay's upper layer holds beyond PURGE_MAY_CHANGE, and any mention of the
        package in dpkg's status or deb-systemd-helper's state."""
        left = []
        for rel, kind in sorted(root.upper_entries().items()):
            if kind == "dir" and os.path.isdir("/" + rel):
                continue  # a directory of the host, copied up because something inside changed
            if any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in PURGE_MAY_CHANGE):
                continue
            left.append("%s (%s)" % (rel, kind))
        with open(root.path("/var/lib/dpkg/status")) as f:
            if re.search(r"^Package: mha-failback$", f.read(), re.M):
                left.append("var/lib/dpkg/status names the package")
        for d in ("deb-systemd-helper-enabled", "deb-systemd-helper-masked"):
            for dirpath, dirnames, filenames in os.walk(root.path("/var/lib/systemd/" + d)):
                left += [os.path.relpath(os.path.join(dirpath, n), root.path("/"))
                         for n in dirnames + filenames if "mha-" in n]
        return left


@unittest.skipUnless(os.environ.get("MHAFB_TEST_DPKG") == "1",
                     "installs the .deb on this machine: run with MHAFB_TEST_DPKG=1 (ctest -L package)")
class PackageOnHost(PackageChecks, unittest.TestCase):
    """The same install, remove and purge on this machine itself (opt in: it changes the host)."""

    def test_install_remove_purge_on_this_machine(self):
        with tempfile.TemporaryDirectory() as out:
            deb = build_deb(out)
            self.install_remove_purge(HostRoot(), deb)


if __name__ == "__main__":
    unittest.main()
