#!/bin/bash
# Runs a real systemd-journald of its own, in a private mount namespace, for tests.
# Must run inside a private mount namespace (unshare -m): it mounts tmpfs over /run/systemd and
# /run/log (and over /var/log/journal, so journald can never pick the host's persistent journal)
# there, so the host's /run and /var/log are never touched.
#
# Usage 1: unshare -m with_private_journald.sh OUT_DIR COMMAND [ARGS...]
#   Runs COMMAND next to the journald, then exports what was logged: OUT_DIR/journal/ (the journal
#   files, readable with journalctl -D) and OUT_DIR/rc (the command's exit status). Without
#   OUT_DIR/journal the journal could not be started.
# Usage 2: unshare -m with_private_journald.sh --serve JOURNAL_DIR
#   Becomes the journald (exec, so the caller's PID is journald's) and writes the journal files
#   straight into JOURNAL_DIR/journal/ (bound on /run/log inside the namespace), where journalctl -D
#   reads them from outside while it runs. Other programs join its namespace with
#   `nsenter -t PID -m PROGRAM...` and log to it; SIGTERM stops it.
set -u

private_mounts() {
  mount --make-rprivate /
  mount -t tmpfs tmpfs /run/systemd
  mount -t tmpfs tmpfs /run/log
  if [ -d /var/log/journal ]; then
    mount -t tmpfs tmpfs /var/log/journal
  fi
  mkdir -p /run/systemd/journal
}

if [ "${1:-}" = "--serve" ]; then
  set -e
  dir=$2
  private_mounts
  mount --bind "$dir" /run/log
  exec /lib/systemd/systemd-journald
fi

out=$1
shift
private_mounts
/lib/systemd/systemd-journald &
journald=$!
for _ in $(seq 100); do
  [ -S /run/systemd/journal/socket ] && break
  sleep 0.05
done
"$@"
echo $? > "$out/rc"
journalctl --sync >/dev/null 2>&1 || true
kill -TERM "$journald"
wait "$journald"
mkdir -p "$out/journal"
cp -r /run/log/journal/. "$out/journal/"
