// Parsers for what the MHA 0.58 tools print and write. Each takes the text (and the exit code where
// it matters) and returns facts; none of them trusts an exit code MHA gets wrong (masterha_check_ssh
// exits 255 on success and failure alike). Tested on output captured from the real tools.
//
// Every parser is total and linear: any bytes (binary garbage, empty, megabytes) give a value, never
// a crash or a hang. Lines may carry MHA's log prefix ("Sun Nov 24 03:51:00 2024 - [info] ",
// "[error][/usr/share/perl5/MHA/X.pm, ln123] ") or none. Text copied into a summary or warning is
// bounded in length and has passwords masked (MASTER_PASSWORD='…', --*pass*=…).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "core/snapshot.hpp"

namespace mhafb {

// "All other slaves should start replication from here. Statement should be: CHANGE MASTER TO
// MASTER_HOST='h', MASTER_PORT=p, MASTER_LOG_FILE='f', MASTER_LOG_POS=n, ..." — coordinates on
// the *new* master from which every other replica must replicate.
struct PromotionCoordinates {
  std::string host;  // MHA prints "host or ip" when they differ: host is the first, ip the second
  int port = 3306;
  BinlogPosition position;     // empty only when auto_position and MHA printed no file:pos
  std::string ip;              // empty unless MHA printed "host or ip"
  bool auto_position = false;  // MASTER_AUTO_POSITION=1 (MySQL GTID failover)
};

enum class FailoverOutcome { Unknown, Success, Partial, Failed };

// Facts from the manager log about the most recent failover in it.
struct FailoverReport {
  FailoverOutcome outcome = FailoverOutcome::Unknown;
  std::string dead_master_host;  // "Master 127.0.0.11(127.0.0.11:3306) is down!" / "Dead Servers:"
  int dead_master_port = 0;
  std::string new_master_host;  // "New master is H(IP:PORT)"
  std::string new_master_ip;
  int new_master_port = 0;
  std::optional<PromotionCoordinates> promotion;
  // "The latest binary log file/position on all slaves is F:P" (old master coordinates)
  std::optional<BinlogPosition> latest_replica_position;
  bool dead_master_ssh_reachable = true;  // false on "Dead Master is not SSH reachable"
  // e.g. "Transactions ... were lost", "H: ERROR: Applying logs failed.", without the log prefix;
  // at most 50, each bounded, deduplicated (the report repeats log lines).
  std::vector<std::string> warnings;
  bool started = false;  // a failover start was found; with outcome Unknown: still running or cut off
  std::string summary;   // the outcome line, or the most telling error for a failed failover
};

// Parses the last failover report found in `log_text` (a tail of the manager log). Returns
// outcome Unknown when no failover report is present. The last failover starts at the last
// "MHA::MasterFailover version"/"Starting master failover." line; nothing before it is used. Note
// that `masterha_master_switch --master_state=dead --interactive=0` writes its log to manager_log,
// not to stdout (its stdout holds only the config-reading lines): parse the manager log.
// The dead master comes from the report's "Master H(IP:PORT) is down!", else the failover's
// "Dead Servers:" list, else "Master H(IP:PORT) is not reachable!". For a failed failover the
// summary is a known upstream bug's message, else the croak message in "Got ERROR: ...", else the
// last error logged before it.
FailoverReport parse_failover_report(std::string_view log_text);

// masterha_check_ssh: judged by its text only.
struct SshCheckResult {
  bool ok = false;
  // "All SSH connection tests passed successfully." or the first "SSH connection from A to B
  // failed!" with ssh's own complaint in parentheses ("ssh: connect to host ... Connection refused").
  std::string summary;
};
SshCheckResult parse_check_ssh(std::string_view output);

// masterha_check_repl: ok only with exit 0 AND "MySQL Replication Health is OK."
struct ReplCheckResult {
  bool ok = false;
  // "MySQL Replication Health is OK.", or a known upstream bug's message, or the first error-level
  // line with content (MHA's "Error happened on checking configurations." wrappers are unwrapped).
  std::string summary;
};
ReplCheckResult parse_check_repl(std::string_view output, int exit_code);

// masterha_master_switch --master_state=alive: rc 0 success, 10 partial, other failure; the text
// must agree ("Switching master to H(IP:PORT) completed successfully.").
enum class SwitchOutcome { Success, Partial, Failed };
struct SwitchResult {
  SwitchOutcome outcome = SwitchOutcome::Failed;
  std::string summary;
  // The log shows phase 2 began ("Rejecting updates": the online-change script's stop, FLUSH TABLES
  // WITH READ LOCK, which on Debian's MHA sets read_only=1 first). From then on the orig master may
  // be left read-only or fenced: MHA rolls nothing back.
  bool writes_were_blocked = false;
  bool check_only = false;  // --check_only run that passed phase 1 ("--check_only is set. Exit.")
};
SwitchResult parse_master_switch(std::string_view output, int exit_code);

// `<app>.master_status.health` content.
Result<ManagerHealth> parse_health_file(std::string_view content);

// masterha_check_status output + exit code ("mha (pid:123) is running(0:PING_OK), master:h").
struct ManagerStatus {
  int code = -1;            // the exit code = the health code
  std::string name;         // PING_OK, NOT_RUNNING, ...
  bool running_ok = false;  // code 0 and PING_OK
  std::string summary;
  std::string master;  // "master:h" when printed
};
ManagerStatus parse_check_status(std::string_view output, int exit_code);

// MHA preflight: detects the two Debian 12 + MariaDB upstream bugs from a tool's output
// ("Redundant argument in sprintf" in NodeUtil.pm; "Unknown system variable 'super_read_only'").
// Empty when neither is present; otherwise an explanation with the fix.
std::string explain_known_mha_bugs(std::string_view output);

// Masks password values in one line of tool output: MASTER_PASSWORD='…', IDENTIFIED BY '…', and any
// key ending in pass/password/passwd followed by '=' (--slave_pass=…, --new_master_password=…).
std::string redact_mha_secrets(std::string_view text);

}  // namespace mhafb
