"""The lab's load client and its verifier.

The writer is the application under failover: it INSERTs one increasing id about every 10 ms
through the `app` account (no READ_ONLY ADMIN/SUPER, so read_only really fences it), follows
whichever server is writable, and records every ACKNOWLEDGED id (the commit returned OK) in
acks.txt, flushed line by line. An id whose INSERT failed is never retried under the same number,
so an ambiguous failure (connection lost mid-commit) never turns into a false acknowledgement.

`verify` then proves the only thing that matters to a user: every acknowledged id is on the
server that ends up as master, and CHECKSUM TABLE agrees across the servers.
"""

from __future__ import annotations

import json
import os
import signal
import time
from contextlib import closing
from pathlib import Path

import pymysql

_ER_READ_ONLY = 1290  # ER_OPTION_PREVENTS_STATEMENT (--read-only)


def _probe_writable(lab, name: str):
    """(a fresh app connection, MAX(id) there) if `name` is up and not read_only, else None."""
    try:
        conn = lab.connect(name, account="app", timeout=0.5, read_timeout=2.0, database="lab")
    except pymysql.err.MySQLError:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@global.read_only")
            (ro,) = cur.fetchone()
            if int(ro) == 0:
                cur.execute("SELECT COALESCE(MAX(id), 0) FROM writes")
                return conn, int(cur.fetchone()[0])
    except pymysql.err.MySQLError:
        pass
    conn.close()
    return None


def run_writer(lab, out_dir: Path, interval_ms: float = 10.0) -> dict:
    """Runs until SIGTERM/SIGINT or `<out_dir>/stop` exists; writes acks.txt, writer.log and
    summary.json in `out_dir` and returns the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stop_file = out_dir / "stop"
    stop_file.unlink(missing_ok=True)  # a stale one from an earlier run
    stopping = {"flag": False}

    def on_signal(_sig, _frame):
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    names = [h.name for h in lab.hosts.values()]
    interval = interval_ms / 1000.0
    acks = open(out_dir / "acks.txt", "a", buffering=1)
    events = open(out_dir / "events.log", "a", buffering=1)
    (out_dir / "started").write_text(f"{os.getpid()}\n")

    def event(msg: str) -> None:
        events.write(f"{time.time():.3f} {msg}\n")

    next_id = 1
    try:  # continue after a previous run's last id: ids stay unique in lab.writes
        with open(out_dir / "acks.txt") as f:
            for line in f:
                if line.strip().isdigit():
                    next_id = max(next_id, int(line) + 1)
    except FileNotFoundError:
        pass
    attempts = acked = rejected = switches = 0
    per_server = {n: 0 for n in names}
    errors: dict[str, int] = {}
    current = None
    conn = None
    t_start = time.monotonic()
    last_ack = None
    longest_gap = 0.0
    gap_after_id = None
    first_id = last_id = None

    while not stopping["flag"] and not stop_file.exists():
        tick = time.monotonic()
        if conn is None:
            # Prefer the other server after a failure: that is where a failover moves the master.
            order = names if current is None else [n for n in names if n != current] + [current]
            for n in order:
                conn = _probe_writable(lab, n)
                if conn is not None:
                    conn, max_id = conn
                    next_id = max(next_id, max_id + 1)  # ids stay unique across writer runs
                    if current is not None and n != current:
                        switches += 1
                    event(f"writing to {n}")
                    current = n
                    break
            if conn is None:
                time.sleep(0.02)
                continue
        i = next_id
        next_id += 1
        attempts += 1
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO writes (id, written_to) VALUES (%s, %s)", (i, current))
            now = time.monotonic()
            acks.write(f"{i}\n")
            acked += 1
            per_server[current] += 1
            first_id = i if first_id is None else first_id
            last_id = i
            if last_ack is not None and now - last_ack > longest_gap:
                longest_gap = now - last_ack
                gap_after_id = i
            last_ack = now
        except pymysql.err.MySQLError as e:
            rejected += 1
            code = str(e.args[0]) if e.args else "?"
            errors[code] = errors.get(code, 0) + 1
            event(f"id {i} rejected by {current}: {e}")
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass
            conn = None
            continue
        rest = interval - (time.monotonic() - tick)
        if rest > 0:
            time.sleep(rest)

    if conn is not None:
        conn.close()
    acks.close()
    summary = {
        "acked": acked, "attempts": attempts, "rejected": rejected, "switches": switches,
        "first_id": first_id, "last_id": last_id, "per_server": per_server, "errors_by_code": errors,
        "longest_gap_ms": round(longest_gap * 1000.0, 1), "longest_gap_before_id": gap_after_id,
        "duration_s": round(time.monotonic() - t_start, 3), "interval_ms": interval_ms,
        "read_only_rejections": errors.get(str(_ER_READ_ONLY), 0),
    }
    event("stopped")
    events.close()
    tmp = out_dir / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, out_dir / "summary.json")
    return summary


def read_acks(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(x) for x in path.read_text().split() if x.isdigit()]


def verify(lab, server: str, acks_path: Path, checksum_wait: float = 15.0) -> dict:
    """Every acknowledged id must be in lab.writes on `server`; CHECKSUM TABLE lab.writes is
    compared on every running server (retried up to `checksum_wait` s for replication to catch up)."""
    acked = read_acks(acks_path)
    with closing(lab.connect(server)) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM lab.writes")
        present = {int(r[0]) for r in cur.fetchall()}
    missing = sorted(set(acked) - present)
    checksums: dict[str, int | None] = {}
    deadline = time.monotonic() + checksum_wait
    while True:
        checksums = {}
        for h in lab.hosts.values():
            if not lab.db_running(h.name):
                continue
            try:
                rows = lab.sql(h.name, "CHECKSUM TABLE lab.writes")
                checksums[h.name] = int(rows[0]["Checksum"])
            except pymysql.err.MySQLError:
                checksums[h.name] = None
        same = len(set(checksums.values())) == 1 and None not in checksums.values()
        if same or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    return {
        "server": lab.host(server).name, "acked": len(acked), "present_on_server": len(present),
        "missing": len(missing), "missing_ids_sample": missing[:20],
        "checksums": checksums, "checksums_equal": same,
        "ok": not missing and same,
    }
