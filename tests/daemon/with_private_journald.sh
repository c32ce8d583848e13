#!/bin/bash
# Runs a command next to a real systemd-journald of its own, then exports what was logged.
# Must run inside a private mount namespace (unshare -m): it mounts tmpfs over /run/systemd and
# /run/log there, so the host's /run is never touched.
# Usage: unshare -m with_private_journald.sh OUT_DIR COMMAND [ARGS...]
# Leaves OUT_DIR/journal/ (the journal files, readable with journalctl -D) and OUT_DIR/rc (the
# command's exit status). Without OUT_DIR/journal the journal could not be started.
set -u
out=$1
shift
mount --make-rprivate /
mount -t tmpfs tmpfs /run/systemd
mount -t tmpfs tmpfs /run/log
mkdir -p /run/systemd/journal
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
