"""MHA 0.58 in the lab: fixed copies of the two broken node modules, the app config, and the
tool invocations (with the text-based verdicts MHA's exit codes cannot give).

Debian 12 ships mha4mysql 0.58 with two upstream bugs that stop every tool on MariaDB (see
FIELD-NOTES.md). The lab never touches /usr: it copies NodeUtil.pm and SlaveUtil.pm into
<lab>/perl5/MHA/, fixes the copies, and puts that directory first in PERL5LIB for manager-side
tools and (through sshd's SetEnv) for the node tools MHA runs over SSH.
"""

from __future__ import annotations

from pathlib import Path

SYSTEM_MHA_DIR = Path("/usr/share/perl5/MHA")

# --- the two upstream fixes --------------------------------------------------------------------

_NODEUTIL_VERSION_OLD = """sub parse_mysql_version($) {
  my $str = shift;
  my $result = sprintf( '%03d%03d%03d', $str =~ m/(\\d+)/g );
  return $result;
}

sub parse_mysql_major_version($) {
  my $str = shift;
  my $result = sprintf( '%03d%03d', $str =~ m/(\\d+)/g );
  return $result;
}
"""

_NODEUTIL_VERSION_NEW = """# Lab fix (upstream mha4mysql-node #35/#36): sprintf got every digit group of VERSION(), e.g.
# "10.11.19-MariaDB-0+deb12u1-log", and Perl 5.36 dies on the redundant arguments under FATAL
# warnings. Only the first three (major: two) groups are meant.
sub parse_mysql_version($) {
  my $str = shift;
  my @n = ( $str =~ m/(\\d+)/g );
  push @n, 0 while ( scalar(@n) < 3 );
  my $result = sprintf( '%03d%03d%03d', @n[ 0 .. 2 ] );
  return $result;
}

sub parse_mysql_major_version($) {
  my $str = shift;
  my @n = ( $str =~ m/(\\d+)/g );
  push @n, 0 while ( scalar(@n) < 2 );
  my $result = sprintf( '%03d%03d', @n[ 0 .. 1 ] );
  return $result;
}
"""

_SLAVEUTIL_SRO_OLD = """  my $sth = $dbh->prepare("SELECT \\@\\@global.super_read_only as Value");
  $sth->execute();
  my $href = $sth->fetchrow_hashref;
  if ( $href->{Value} == '1' ) {
"""

_SLAVEUTIL_SRO_NEW = """  # Lab fix (upstream mha4mysql-node #37/#38): MariaDB has no super_read_only, and selecting
  # an unknown variable under RaiseError killed the tool. SHOW VARIABLES returns no row there.
  my $sth = $dbh->prepare("SHOW GLOBAL VARIABLES LIKE 'super_read_only'");
  $sth->execute();
  my $href = $sth->fetchrow_hashref;
  if ( $href && uc( $href->{Value} ) eq 'ON' ) {
"""


class PatchError(RuntimeError):
    pass


def _replace_once(text: str, old: str, new: str, what: str) -> str:
    if text.count(old) != 1:
        raise PatchError(f"cannot fix {what}: the expected upstream code was not found exactly once "
                         f"(is /usr/share/perl5/MHA from mha4mysql-node 0.58?)")
    return text.replace(old, new)


def write_fixed_modules(dest_mha_dir: Path, fix_nodeutil: bool = True, fix_slaveutil: bool = True) -> None:
    """Writes NodeUtil.pm and SlaveUtil.pm into `dest_mha_dir`, fixed as asked. Only these two
    modules are copied; Perl finds every other MHA module in /usr/share/perl5 as usual."""
    dest_mha_dir.mkdir(parents=True, exist_ok=True)
    node = (SYSTEM_MHA_DIR / "NodeUtil.pm").read_text()
    if fix_nodeutil:
        node = _replace_once(node, _NODEUTIL_VERSION_OLD, _NODEUTIL_VERSION_NEW, "NodeUtil.pm version parsing")
    (dest_mha_dir / "NodeUtil.pm").write_text(node)
    slave = (SYSTEM_MHA_DIR / "SlaveUtil.pm").read_text()
    if fix_slaveutil:
        slave = _replace_once(slave, _SLAVEUTIL_SRO_OLD, _SLAVEUTIL_SRO_NEW, "SlaveUtil.pm super_read_only")
    (dest_mha_dir / "SlaveUtil.pm").write_text(slave)


# --- the app config ----------------------------------------------------------------------------

def app_config_text(*, workdir: Path, manager_log: Path, user: str, password: str, repl_user: str,
                    repl_password: str, ssh_port: int, ssh_options: str, servers: list[dict],
                    ping_interval: int = 1, online_change_script: str | None = None) -> str:
    """MHA's app config. MHA itself requires the passwords in this file; the lab writes it 0600."""
    lines = [
        "# MHA app config of the mha-failback test lab (generated; passwords are per lab).",
        "[server default]",
        f"manager_workdir={workdir}",
        f"manager_log={manager_log}",
        f"user={user}",
        f"password={password}",
        f"repl_user={repl_user}",
        f"repl_password={repl_password}",
        "ssh_user=root",
        f"ssh_port={ssh_port}",
        f"ssh_options={ssh_options}",
        f"ping_interval={ping_interval}",
    ]
    if online_change_script:
        lines.append(f"master_ip_online_change_script={online_change_script}")
    for i, s in enumerate(servers, start=1):
        lines += [
            "",
            f"[server{i}]",
            f"hostname={s['ip']}",
            f"port={s['port']}",
            "candidate_master=1",
            f"master_binlog_dir={s['binlog_dir']}",
            f"remote_workdir={s['remote_workdir']}",
        ]
    return "\n".join(lines) + "\n"


# --- verdicts from the tools' text -------------------------------------------------------------

SSH_OK_TEXT = "All SSH connection tests passed successfully."
SSH_FAIL_TEXT = "SSH Configuration Check Failed!"
REPL_OK_TEXT = "MySQL Replication Health is OK."


def check_ssh_ok(output: str) -> bool:
    """masterha_check_ssh exits 255 on success and failure alike: only its text tells."""
    return SSH_OK_TEXT in output and SSH_FAIL_TEXT not in output


def check_repl_ok(rc: int, output: str) -> bool:
    return rc == 0 and REPL_OK_TEXT in output


def parse_health(text: str) -> dict:
    """`<app>.master_status.health`: "PID<TAB>CODE:NAME[<TAB>master:HOST]"."""
    parts = text.strip().split("\t")
    out: dict = {"raw": text}
    if parts and parts[0].isdigit():
        out["pid"] = int(parts[0])
    if len(parts) > 1 and ":" in parts[1]:
        code, name = parts[1].split(":", 1)
        out["code"] = int(code) if code.isdigit() else None
        out["name"] = name
    if len(parts) > 2 and parts[2].startswith("master:"):
        out["master"] = parts[2][len("master:"):]
    return out
