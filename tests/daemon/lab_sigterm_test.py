#!/usr/bin/env python3
"""SIGTERM while a switch back is in flight, on the real lab (tests/lab: two mariadbd, two sshd,
MHA 0.58 on 127.0.0.11/12), with the real mha-failbackd and mha-failbackctl on a private bus.

MHA fails db1 over to db2 under a steady writer; the daemon rejoins and validates db1; an operator
runs `mha-failbackctl failback app1 --wait`; the moment the cluster's Operation property says the
switch runs, the daemon gets SIGTERM. It must let the step in flight finish (never abandon a switch
half way), persist, and exit 0; the waiting command line must get an answer (success, or the
"stopped before the operation ended" error). At no time may the pair be left without a writable
master or with two. A new daemon then resumes from the persisted state and brings the cluster to
healthy with every acknowledged write on both servers.

Env: MHAFBD, MHAFBCTL (binaries), MHAFB_SOURCE_DIR. Root. Label `integration` (one lab at a time).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

SRC = Path(os.environ.get("MHAFB_SOURCE_DIR", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(SRC / "tests" / "lab"))

from lab import HOSTS, Lab  # noqa: E402  (makes Debian's pymysql importable)
import lab_proc  # noqa: E402
from lab_writer import read_acks  # noqa: E402

MHAFBD = os.environ.get("MHAFBD", "mha-failbackd")
MHAFBCTL = os.environ.get("MHAFBCTL", "mha-failbackctl")


def lab_addresses_busy():
    return [f"{h.ip}:{p}" for h in HOSTS for p in (h.db_port, h.ssh_port) if lab_proc.tcp_open(h.ip, p)]


class SigtermDuringSwitch(unittest.TestCase):
    def setUp(self):
        deadline = time.monotonic() + 900
        while lab_addresses_busy() and time.monotonic() < deadline:
            time.sleep(2)  # another lab (run by hand) is using the same addresses
        self.assertEqual(lab_addresses_busy(), [], "the lab's addresses stay taken")
        self.base = Path(tempfile.mkdtemp(prefix="mhafb-sigterm-"))
        self.lab = Lab(self.base / "lab")
        self.procs = []
        self.lab.up()
        self.bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(self.bus)
        self.address = self.bus.stdout.readline().strip()
        self.config = self.lab.write_daemon_config(self.base / "mha-failback.json", mode="approve",
                                                   stable_seconds=2)

    def tearDown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        try:
            self.lab.writer_stop()
        except Exception:  # noqa: BLE001 - the lab goes down next anyway
            pass
        self.lab.down(remove=True)
        shutil.rmtree(self.base, ignore_errors=True)

    def start_daemon(self, name):
        log = open(self.base / f"{name}.log", "w")
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
        p = subprocess.Popen([MHAFBD, "--config", str(self.config), "--bus", self.address], stdout=log,
                             stderr=subprocess.STDOUT, env=env)
        self.procs.append(p)
        return p

    def status(self):
        r = subprocess.run([MHAFBCTL, "--bus", self.address, "status", "--json"], capture_output=True, text=True)
        return json.loads(r.stdout)[0] if r.returncode == 0 and r.stdout.strip() else {}

    def wait_status(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.status()
            if s and pred(s):
                return s
            time.sleep(0.05)
        return None

    def writable(self):
        out = []
        for h in ("db1", "db2"):
            try:
                if self.lab.is_writable(h):
                    out.append(h)
            except Exception:  # noqa: BLE001 - a server that does not answer is not writable
                pass
        return out

    def test_sigterm_lets_the_switch_finish_and_a_new_daemon_resumes(self):
        d1 = self.start_daemon("daemon1")
        self.assertIsNotNone(self.wait_status(lambda s: s["state"] == "healthy" and s["master"] == HOSTS[0].ip, 60))
        self.lab.writer_start()
        self.lab.manager_start()
        time.sleep(1.0)
        fo = self.lab.failover(mode="manager")
        self.assertTrue(fo.completed_text and fo.flag_written, fo)
        self.assertIsNotNone(self.wait_status(lambda s: s["state"] == "validated", 300), self.status())

        # Watch for "exactly one writable master" all along, from now until the end.
        samples = []
        stop_sampling = threading.Event()

        def sample():
            while not stop_sampling.is_set():
                samples.append((time.monotonic(), tuple(self.writable())))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        ctl = subprocess.Popen([MHAFBCTL, "--bus", self.address, "failback", "app1", "--wait", "--reason",
                                "sigterm test"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(ctl)
        running = self.wait_status(lambda s: s["operation"] != "", 60)
        self.assertIsNotNone(running, "the switch-back operation never started")
        t_term = time.monotonic()
        d1.send_signal(signal.SIGTERM)
        rc = d1.wait(300)
        stopped_after = time.monotonic() - t_term
        print(f"\nSIGTERM during '{running['operation']}': exit {rc} after {stopped_after:.2f} s", flush=True)
        self.assertEqual(rc, 0, (self.base / "daemon1.log").read_text()[-3000:])
        out, err = ctl.communicate(timeout=30)
        self.assertIn(ctl.returncode, (0, 1), out + err)
        if ctl.returncode == 1:
            self.assertIn("stopped before the operation ended", err)
        log1 = (self.base / "daemon1.log").read_text()
        self.assertIn("stopping: letting the step in flight finish", log1)
        self.assertTrue(log1.rstrip().endswith("stopped"), log1[-500:])
        state = json.loads((self.lab.path("daemon", "state") / "app1.state.json").read_text())
        print(f"persisted after SIGTERM: {json.dumps(state)[:300]}", flush=True)

        # A new daemon resumes and finishes.
        self.start_daemon("daemon2")
        final = self.wait_status(lambda s: s["state"] == "healthy" and s["master"] == HOSTS[0].ip, 300)
        stop_sampling.set()
        sampler.join(5)
        self.assertIsNotNone(final, self.status())
        self.assertEqual(self.writable(), ["db1"])
        # Never two writable masters; never none for longer than the switch's own fence window.
        self.assertFalse([s for s in samples if len(s[1]) > 1], "two writable servers at once")
        gaps, start = [], None
        for t, w in samples:
            if not w and start is None:
                start = t
            elif w and start is not None:
                gaps.append(t - start)
                start = None
        self.assertIsNone(start, "no writable master at the end of the sampling")
        print(f"longest time without a writable master: {max(gaps, default=0.0):.2f} s", flush=True)
        self.assertLess(max(gaps, default=0.0), 10.0)

        summary = self.lab.writer_stop()
        acks = read_acks(self.lab.path("writer") / "acks.txt")
        self.assertTrue(acks, summary)
        self.lab.wait_replica_synced("db2", "db1")
        for host in ("db1", "db2"):
            ids = {int(r["id"]) for r in self.lab.sql(host, "SELECT id FROM lab.writes")}
            missing = [a for a in acks if a not in ids]
            self.assertEqual(missing, [], f"{len(missing)} acknowledged writes missing on {host}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
