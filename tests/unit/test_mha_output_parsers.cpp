// The MHA output parsers over real tool output (tests/data/mha/samples/tool-*, and the lab's
// captures in tests/data/mha/captured/), over fixtures derived from MHA's Perl source
// (samples/derived-*), over small inline variants, and over garbage.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "mha/output_parsers.hpp"

namespace mhafb {
namespace {

namespace fs = std::filesystem;

const fs::path kSamples = fs::path(MHAFB_TEST_DATA_DIR) / "mha" / "samples";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << p;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string sample(const std::string& name) {
  return slurp(kSamples / name);
}

// ------------------------------------------------------------------ failover report

TEST(FailoverReport, DerivedSuccess) {
  FailoverReport r = parse_failover_report(sample("derived-manager_log.failover_success.log"));
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.outcome, FailoverOutcome::Success);
  EXPECT_EQ(r.summary, "Master failover to 127.0.0.12(127.0.0.12:3306) completed successfully.");
  EXPECT_EQ(r.dead_master_host, "127.0.0.11");
  EXPECT_EQ(r.dead_master_port, 3306);
  EXPECT_EQ(r.new_master_host, "127.0.0.12");
  EXPECT_EQ(r.new_master_ip, "127.0.0.12");
  EXPECT_EQ(r.new_master_port, 3306);
  ASSERT_TRUE(r.promotion.has_value());
  EXPECT_EQ(r.promotion->host, "127.0.0.12");
  EXPECT_EQ(r.promotion->ip, "");
  EXPECT_EQ(r.promotion->port, 3306);
  EXPECT_EQ(r.promotion->position, (BinlogPosition{"mysql-bin.000002", 1846}));
  EXPECT_FALSE(r.promotion->auto_position);
  ASSERT_TRUE(r.latest_replica_position.has_value());
  EXPECT_EQ(*r.latest_replica_position, (BinlogPosition{"mysql-bin.000003", 51122}));
  EXPECT_TRUE(r.dead_master_ssh_reachable);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
}

TEST(FailoverReport, DerivedSshUnreachablePartial) {
  FailoverReport r =
      parse_failover_report(sample("derived-manager_log.failover_ssh_unreachable_partial.log"));
  EXPECT_EQ(r.outcome, FailoverOutcome::Partial);
  EXPECT_EQ(r.summary,
            "Master failover to db2(127.0.0.12:3306) done, but recovery on slave partially failed.");
  EXPECT_EQ(r.dead_master_host, "db1");
  EXPECT_EQ(r.new_master_host, "db2");
  EXPECT_EQ(r.new_master_ip, "127.0.0.12");
  EXPECT_FALSE(r.dead_master_ssh_reachable);
  ASSERT_TRUE(r.promotion.has_value());
  EXPECT_EQ(r.promotion->host, "db2");
  EXPECT_EQ(r.promotion->ip, "127.0.0.12");
  EXPECT_EQ(r.promotion->position, (BinlogPosition{"mysql-bin.000004", 778}));
  ASSERT_TRUE(r.latest_replica_position.has_value());
  EXPECT_EQ(r.latest_replica_position->label(), "mysql-bin.000007:9907");
  auto has = [&](std::string_view needle) {
    for (const auto& w : r.warnings)
      if (w.find(needle) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(
      has("Dead Master is not SSH reachable. Could not save it's binlogs. Transactions that were not sent"));
  EXPECT_TRUE(has("db3(127.0.0.13:3306): ERROR: Applying logs failed."));
  EXPECT_TRUE(has("-- Recovery on host db3(127.0.0.13:3306) failed, exit code 1"));
  for (const auto& w : r.warnings)
    EXPECT_EQ(w.find(" - [warning]"), std::string::npos) << "prefix kept: " << w;
}

TEST(FailoverReport, DerivedRefusedTooEarly) {
  FailoverReport r = parse_failover_report(sample("derived-manager_log.failover_refused_too_early.log"));
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.outcome, FailoverOutcome::Failed);
  EXPECT_EQ(r.summary.rfind("Last failover was done at 2024/11/24 10:20:24. Current time is too early", 0),
            0u)
      << r.summary;
  EXPECT_EQ(r.dead_master_host, "127.0.0.12");
  EXPECT_FALSE(r.promotion.has_value());
  EXPECT_TRUE(r.new_master_host.empty());
}

TEST(FailoverReport, LastFailoverInTheLogWins) {
  FailoverReport a = parse_failover_report(sample("derived-manager_log.success_then_refused.log"));
  EXPECT_EQ(a.outcome, FailoverOutcome::Failed);
  EXPECT_FALSE(a.promotion.has_value()) << "promotion leaked from the earlier failover";
  EXPECT_TRUE(a.new_master_host.empty());
  EXPECT_EQ(a.dead_master_host, "127.0.0.12");

  FailoverReport b = parse_failover_report(sample("derived-manager_log.refused_then_partial.log"));
  EXPECT_EQ(b.outcome, FailoverOutcome::Partial);
  EXPECT_EQ(b.dead_master_host, "db1");
  for (const auto& w : b.warnings)
    EXPECT_EQ(w.find("too early"), std::string::npos) << w;
}

TEST(FailoverReport, InProgressIsUnknownButStarted) {
  FailoverReport r = parse_failover_report(sample("derived-manager_log.failover_in_progress.log"));
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.outcome, FailoverOutcome::Unknown);
  EXPECT_EQ(r.new_master_host, "127.0.0.12");  // already chosen
  EXPECT_TRUE(r.promotion.has_value());
}

TEST(FailoverReport, GtidAutoPositionWithHostOrIp) {
  FailoverReport r = parse_failover_report(sample("derived-master_switch_dead.gtid_auto_position.log"));
  EXPECT_EQ(r.outcome, FailoverOutcome::Success);
  EXPECT_EQ(r.dead_master_host, "mysql-a");
  EXPECT_EQ(r.dead_master_port, 3307);
  EXPECT_EQ(r.new_master_host, "mysql-b");
  EXPECT_EQ(r.new_master_ip, "10.0.0.6");
  EXPECT_EQ(r.new_master_port, 3307);
  ASSERT_TRUE(r.promotion.has_value());
  EXPECT_TRUE(r.promotion->auto_position);
  EXPECT_EQ(r.promotion->host, "mysql-b");
  EXPECT_EQ(r.promotion->ip, "10.0.0.6");
  EXPECT_EQ(r.promotion->port, 3307);
  // No file/pos in the statement: taken from the "Getting new master's binlog name and position" line.
  EXPECT_EQ(r.promotion->position, (BinlogPosition{"binlog.000004", 2317}));
}

TEST(FailoverReport, RealRefusedBecauseMasterAlive) {
  FailoverReport r = parse_failover_report(sample("tool-manager_log.failover_refused_master_alive.log"));
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.outcome, FailoverOutcome::Failed);
  EXPECT_EQ(
      r.summary,
      "The master 127.0.0.204(127.0.0.204:3306) is reachable via MySQL (error=1:Connection Succeeded) ! "
      "Stop failover.");
  EXPECT_EQ(r.dead_master_host, "127.0.0.204");
}

TEST(FailoverReport, RealSprintfBugIsTheSummary) {
  FailoverReport r = parse_failover_report(sample("tool-manager_log.failover_sprintf_bug.log"));
  EXPECT_EQ(r.outcome, FailoverOutcome::Failed);
  EXPECT_EQ(r.summary, "Redundant argument in sprintf at /usr/share/perl5/MHA/NodeUtil.pm line 195.");
  EXPECT_FALSE(explain_known_mha_bugs(sample("tool-manager_log.failover_sprintf_bug.log")).empty());
}

TEST(FailoverReport, MonitorOnlyLogHasNoFailover) {
  FailoverReport r = parse_failover_report(sample("tool-manager_log.monitor_sprintf_bug.log"));
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.outcome, FailoverOutcome::Unknown);
}

TEST(FailoverReport, WithoutPrefixesAndWithCrLf) {
  std::string log =
      "Starting master failover.\r\n"
      "The latest binary log file/position on all slaves is mysql-bin.000009:4\r\n"
      "New master is h2(10.1.1.2:3306)\r\n"
      " All other slaves should start replication from here. Statement should be: CHANGE MASTER TO "
      "MASTER_HOST='h2 or 10.1.1.2', MASTER_PORT=3306, MASTER_LOG_FILE='mysql-bin.000001', "
      "MASTER_LOG_POS=120, "
      "MASTER_USER='repl', MASTER_PASSWORD='s3cret';\r\n"
      "Master failover to h2(10.1.1.2:3306) completed successfully.\r\n";
  FailoverReport r = parse_failover_report(log);
  EXPECT_EQ(r.outcome, FailoverOutcome::Success);
  EXPECT_EQ(r.new_master_host, "h2");
  ASSERT_TRUE(r.promotion.has_value());
  EXPECT_EQ(r.promotion->position, (BinlogPosition{"mysql-bin.000001", 120}));
  EXPECT_EQ(r.latest_replica_position->label(), "mysql-bin.000009:4");
  EXPECT_EQ(r.summary.find("s3cret"), std::string::npos);
}

TEST(FailoverReport, IPv6HostInfo) {
  FailoverReport r = parse_failover_report("Starting master failover.\nNew master is db6(fd00::6:3306)\n");
  EXPECT_EQ(r.new_master_host, "db6");
  EXPECT_EQ(r.new_master_ip, "fd00::6");
  EXPECT_EQ(r.new_master_port, 3306);
}

TEST(FailoverReport, MalformedStatementIsIgnored) {
  for (std::string_view bad : {
           "Statement should be: CHANGE MASTER TO MASTER_HOST='h', MASTER_PORT=99999, MASTER_LOG_FILE='f', "
           "MASTER_LOG_POS=4;",
           "Statement should be: CHANGE MASTER TO MASTER_HOST='h', MASTER_PORT=3306, MASTER_LOG_FILE='f';",
           "Statement should be: CHANGE MASTER TO MASTER_PORT=3306, MASTER_LOG_FILE='f', MASTER_LOG_POS=4;",
           "Statement should be: CHANGE MASTER TO MASTER_HOST='h, MASTER_PORT=3306",
           "Statement should be: CHANGE MASTER TO MASTER_HOST='h', MASTER_PORT=3306, MASTER_LOG_FILE='f', "
           "MASTER_LOG_POS=-4;",
       }) {
    FailoverReport r = parse_failover_report(std::string("Starting master failover.\n") + std::string(bad));
    EXPECT_FALSE(r.promotion.has_value()) << bad;
  }
}

TEST(FailoverReport, EmptyAndUnrelatedText) {
  FailoverReport e = parse_failover_report("");
  EXPECT_EQ(e.outcome, FailoverOutcome::Unknown);
  EXPECT_FALSE(e.started);
  FailoverReport u = parse_failover_report(sample("tool-check_status.rc0.ping_ok.txt"));
  EXPECT_EQ(u.outcome, FailoverOutcome::Unknown);
}

// ------------------------------------------------------------------ check_ssh

TEST(CheckSsh, DerivedOkDespiteExit255) {
  SshCheckResult r = parse_check_ssh(sample("derived-check_ssh.rc255.ok.txt"));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.summary, "All SSH connection tests passed successfully.");
}

TEST(CheckSsh, RealConnectionRefused) {
  SshCheckResult r = parse_check_ssh(sample("tool-check_ssh.rc255.connection_refused.txt"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(
      r.summary,
      "SSH connection from root@127.0.0.201(127.0.0.201:22) to root@127.0.0.202(127.0.0.202:22) failed! "
      "(ssh: connect to host 127.0.0.201 port 22: Connection refused)");
}

TEST(CheckSsh, DerivedPermissionDenied) {
  SshCheckResult r = parse_check_ssh(sample("derived-check_ssh.rc255.permission_denied.txt"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.summary.find("to root@127.0.0.12(127.0.0.12:22) failed!"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("Permission denied (publickey)."), std::string::npos) << r.summary;
}

TEST(CheckSsh, BothVerdictsMeansFailure) {
  SshCheckResult r =
      parse_check_ssh("All SSH connection tests passed successfully.\nSSH Configuration Check Failed!\n");
  EXPECT_FALSE(r.ok);
}

TEST(CheckSsh, NoVerdict) {
  SshCheckResult r = parse_check_ssh("--conf=<server_config_file> must be set.\n");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.summary.find("no verdict"), std::string::npos);
}

// ------------------------------------------------------------------ check_repl

TEST(CheckRepl, DerivedOk) {
  ReplCheckResult r = parse_check_repl(sample("derived-check_repl.rc0.ok.txt"), 0);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.summary, "MySQL Replication Health is OK.");
}

TEST(CheckRepl, OkTextButNonZeroExitIsNotOk) {
  ReplCheckResult r = parse_check_repl(sample("derived-check_repl.rc0.ok.txt"), 1);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.summary.find("but exited 1"), std::string::npos) << r.summary;
}

TEST(CheckRepl, ExitZeroWithoutOkTextIsNotOk) {
  ReplCheckResult r =
      parse_check_repl("Sun Nov 24 09:05:00 2024 - [info] MHA::MasterMonitor version 0.58.\n", 0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.summary.find("without a verdict"), std::string::npos) << r.summary;
}

TEST(CheckRepl, RealFailures) {
  struct Case {
    const char* file;
    const char* summary;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"tool-check_repl.rc1.no_alive_server.txt", "There is no alive server. We can't do failover"},
           {"tool-check_repl.rc1.no_alive_slave.txt", "There is no alive slave. We can't do failover"},
           {"tool-check_repl.rc1.access_denied.txt",
            "Got MySQL error when connecting 127.0.0.203(127.0.0.203:3306) :1045:Access denied for user "
            "'root'@'localhost' (using password: YES), but this is not a MySQL crash. Check MySQL server "
            "settings."},
           {"tool-check_repl.rc1.ssh_refused.txt",
            "SSH connection from root@127.0.0.203(127.0.0.203:22) to root@127.0.0.204(127.0.0.204:22) "
            "failed!"},
           {"tool-check_repl.rc1.sprintf_bug.txt",
            "Redundant argument in sprintf at /usr/share/perl5/MHA/NodeUtil.pm line 195."},
           {"derived-check_repl.rc1.super_read_only_bug.txt",
            "DBD::mysql::st execute failed: Unknown system variable 'super_read_only' at "
            "/usr/share/perl5/MHA/SlaveUtil.pm line 245."},
           {"derived-check_repl.rc1.master_dead.txt", "There is no alive slave. We can't do failover"},
       }) {
    ReplCheckResult r = parse_check_repl(sample(c.file), 1);
    EXPECT_FALSE(r.ok) << c.file;
    EXPECT_EQ(r.summary, c.summary) << c.file;
  }
}

// ------------------------------------------------------------------ master switch

TEST(MasterSwitch, RealSuccess) {
  SwitchResult r = parse_master_switch(sample("tool-master_switch.rc0.success.txt"), 0);
  EXPECT_EQ(r.outcome, SwitchOutcome::Success);
  EXPECT_EQ(r.summary, "Switching master to 127.0.0.204(127.0.0.204:3306) completed successfully.");
  EXPECT_TRUE(r.writes_were_blocked);
  EXPECT_FALSE(r.check_only);
}

TEST(MasterSwitch, RealSuccessTextWithBadExitIsFailed) {
  SwitchResult r = parse_master_switch(sample("tool-master_switch.rc0.success.txt"), 137);
  EXPECT_EQ(r.outcome, SwitchOutcome::Failed);
  EXPECT_NE(r.summary.find("but exited 137"), std::string::npos) << r.summary;
}

TEST(MasterSwitch, RealCheckOnly) {
  SwitchResult r = parse_master_switch(sample("tool-master_switch.rc0.check_only.txt"), 0);
  EXPECT_EQ(r.outcome, SwitchOutcome::Success);
  EXPECT_TRUE(r.check_only);
  EXPECT_FALSE(r.writes_were_blocked);
}

TEST(MasterSwitch, RealSwitchToCurrentMasterLeavesWritesBlocked) {
  SwitchResult r = parse_master_switch(sample("tool-master_switch.rc1.to_current_master.txt"), 1);
  EXPECT_EQ(r.outcome, SwitchOutcome::Failed);
  EXPECT_TRUE(r.writes_were_blocked);
  EXPECT_EQ(r.summary,
            "master_pos_wait(mysql-bin.000001:487) returned NULL on 127.0.0.204(127.0.0.204:3306). Maybe SQL "
            "thread was aborted?");
}

TEST(MasterSwitch, RealRefusals) {
  struct Case {
    const char* file;
    const char* summary;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"tool-master_switch.rc1.no_alive_server.txt", "There is no alive server. We can't do failover"},
           {"tool-master_switch.rc1.no_alive_slave.txt", "There is no alive slave. We can't do failover"},
           {"tool-master_switch.rc1.sprintf_bug.txt",
            "Redundant argument in sprintf at /usr/share/perl5/MHA/NodeUtil.pm line 195."},
           {"derived-master_switch.rc1.advisory_lock.txt",
            "Getting advisory lock failed on the current master. MHA Monitor runs on the current master. "
            "Stop MHA "
            "Manager/Monitor and try again."},
       }) {
    SwitchResult r = parse_master_switch(sample(c.file), 1);
    EXPECT_EQ(r.outcome, SwitchOutcome::Failed) << c.file;
    EXPECT_FALSE(r.writes_were_blocked) << c.file;
    EXPECT_EQ(r.summary, c.summary) << c.file;
  }
}

TEST(MasterSwitch, DerivedPartial) {
  SwitchResult r = parse_master_switch(sample("derived-master_switch.rc10.partial.txt"), 10);
  EXPECT_EQ(r.outcome, SwitchOutcome::Partial);
  EXPECT_TRUE(r.writes_were_blocked);
  EXPECT_EQ(r.summary,
            "Switching master to 127.0.0.11(127.0.0.11:3306) done, but switching slaves partially failed.");
  SwitchResult disagree = parse_master_switch(sample("derived-master_switch.rc10.partial.txt"), 0);
  EXPECT_EQ(disagree.outcome, SwitchOutcome::Failed);
}

TEST(MasterSwitch, ExitZeroWithoutTextIsFailed) {
  SwitchResult r = parse_master_switch("", 0);
  EXPECT_EQ(r.outcome, SwitchOutcome::Failed);
  EXPECT_NE(r.summary.find("without a success line"), std::string::npos);
}

// ------------------------------------------------------------------ health file

TEST(HealthFile, ParsesWhatFileStatusWrites) {
  auto r = parse_health_file("14534\t0:PING_OK\tmaster:127.0.0.11");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pid, 14534);
  EXPECT_EQ(r->code, 0);
  EXPECT_EQ(r->name, "PING_OK");
  EXPECT_EQ(r->master, "127.0.0.11");

  auto n = parse_health_file("77\t10:INITIALIZING_MONITOR\n");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->code, 10);
  EXPECT_EQ(n->master, "");

  auto f = parse_health_file("77\t51:FAILOVER_ERROR\tmaster:db1.example");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->code, 51);
  EXPECT_EQ(f->master, "db1.example");

  auto future = parse_health_file("77\t60:SOMETHING_NEW");  // unknown code, well formed
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(future->name, "SOMETHING_NEW");
}

TEST(HealthFile, RejectsMalformed) {
  struct Case {
    std::string text;
    std::string needle;
  };
  for (const Case& c : std::vector<Case>{
           {"", "empty"},
           {"\n", "empty"},
           {"abc\t0:PING_OK", "'abc', not a process id"},
           {"0\t0:PING_OK", "not a process id"},
           {"-5\t0:PING_OK", "not a process id"},
           {"123", "no status"},
           {"123\tPING_OK", "expected CODE:NAME"},
           {"123\t0:ping_ok", "expected CODE:NAME"},
           {"123\t0:", "expected CODE:NAME"},
           {"123\t1234:X", "expected CODE:NAME"},
           {"123\t0:PING_FAILED", "code 0 is PING_OK"},
           {"123\t0:PING_OK\thost:x", "expected master:<host>"},
           {"123\t0:PING_OK\tmaster:", "expected master:<host>"},
           {"123\t0:PING_OK\tmaster:x\textra", "more than three"},
           {"99999999999999999999999\t0:PING_OK", "not a process id"},
       }) {
    auto r = parse_health_file(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().kind, ErrorKind::Invalid);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << c.text << " -> " << r.error().message;
  }
}

// ------------------------------------------------------------------ check_status

TEST(CheckStatus, RealOutputsForEveryCode) {
  struct Case {
    const char* file;
    int rc;
    const char* name;
    bool ok;
    const char* master;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"tool-check_status.rc0.ping_ok.txt", 0, "PING_OK", true, "127.0.0.11"},
           {"tool-check_status.rc2.not_running.txt", 2, "NOT_RUNNING", false, ""},
           {"tool-check_status.rc2.dead_pid.txt", 2, "NOT_RUNNING", false, ""},
           {"tool-check_status.rc10.initializing_monitor.txt", 10, "INITIALIZING_MONITOR", false, ""},
           {"tool-check_status.rc20.ping_failing.txt", 20, "PING_FAILING", false, "127.0.0.11"},
           {"tool-check_status.rc21.ping_failed.txt", 21, "PING_FAILED", false, "127.0.0.11"},
           {"tool-check_status.rc30.retrying_monitor.txt", 30, "RETRYING_MONITOR", false, ""},
           {"tool-check_status.rc31.config_error.txt", 31, "CONFIG_ERROR", false, ""},
           {"tool-check_status.rc32.timestamp_old.txt", 32, "TIMESTAMP_OLD", false, "127.0.0.11"},
           {"tool-check_status.rc50.failover_running.txt", 50, "FAILOVER_RUNNING", false, "127.0.0.11"},
           {"tool-check_status.rc51.failover_error.txt", 51, "FAILOVER_ERROR", false, "127.0.0.11"},
       }) {
    ManagerStatus s = parse_check_status(sample(c.file), c.rc);
    EXPECT_EQ(s.code, c.rc) << c.file;
    EXPECT_EQ(s.name, c.name) << c.file;
    EXPECT_EQ(s.running_ok, c.ok) << c.file;
    EXPECT_EQ(s.master, c.master) << c.file;
    EXPECT_NE(s.summary.find(std::string("(") + std::to_string(c.rc) + ":" + c.name + ")"), std::string::npos)
        << c.file << ": " << s.summary;
  }
}

TEST(CheckStatus, RealErrorsExitOne) {
  ManagerStatus u = parse_check_status(sample("tool-check_status.rc1.unknown_status.txt"), 1);
  EXPECT_EQ(u.code, 1);
  EXPECT_FALSE(u.running_ok);
  EXPECT_EQ(u.summary, "Got error on conf /tmp/pbuild/mha/app1.cnf: Got unknown status: 7:BOGUS");
  ManagerStatus m = parse_check_status(sample("tool-check_status.rc1.conf_missing.txt"), 1);
  EXPECT_FALSE(m.running_ok);
  EXPECT_NE(m.summary.find("not found!"), std::string::npos) << m.summary;
}

TEST(CheckStatus, TextAndExitCodeMustAgree) {
  ManagerStatus s = parse_check_status(sample("tool-check_status.rc0.ping_ok.txt"), 21);
  EXPECT_FALSE(s.running_ok);
  EXPECT_EQ(s.code, 21);
  EXPECT_NE(s.summary.find("but exited 21"), std::string::npos) << s.summary;
  ManagerStatus t = parse_check_status("", 0);
  EXPECT_FALSE(t.running_ok);
}

// ------------------------------------------------------------------ known upstream bugs

TEST(KnownBugs, SprintfBugFromRealOutput) {
  for (const char* f : {"tool-check_repl.rc1.sprintf_bug.txt", "tool-master_switch.rc1.sprintf_bug.txt",
                        "tool-manager_log.monitor_sprintf_bug.log"}) {
    std::string e = explain_known_mha_bugs(sample(f));
    EXPECT_NE(e.find("MHA::NodeUtil"), std::string::npos) << f;
    EXPECT_NE(e.find("Perl 5.36"), std::string::npos) << f;
    EXPECT_NE(e.find("MariaDB"), std::string::npos) << f;
    EXPECT_NE(e.find("PERL5LIB"), std::string::npos) << f;
    EXPECT_NE(e.find("SetEnv PERL5LIB"), std::string::npos) << f;
    EXPECT_EQ(e.find("MHA::SlaveUtil"), std::string::npos) << f;
  }
}

TEST(KnownBugs, SuperReadOnlyBugFromRealOutput) {
  for (const char* f : {"tool-apply_diff_relay_logs.rc1.super_read_only_bug.txt",
                        "derived-check_repl.rc1.super_read_only_bug.txt"}) {
    std::string e = explain_known_mha_bugs(sample(f));
    EXPECT_NE(e.find("MHA::SlaveUtil"), std::string::npos) << f;
    EXPECT_NE(e.find("super_read_only"), std::string::npos) << f;
    EXPECT_NE(e.find("MariaDB has no such variable"), std::string::npos) << f;
    EXPECT_NE(e.find("PERL5LIB"), std::string::npos) << f;
    EXPECT_EQ(e.find("MHA::NodeUtil"), std::string::npos) << f;
  }
}

TEST(KnownBugs, BothAndNeither) {
  std::string both = sample("tool-check_repl.rc1.sprintf_bug.txt") +
                     sample("derived-check_repl.rc1.super_read_only_bug.txt");
  std::string e = explain_known_mha_bugs(both);
  EXPECT_NE(e.find("MHA::NodeUtil"), std::string::npos);
  EXPECT_NE(e.find("MHA::SlaveUtil"), std::string::npos);
  for (const char* f :
       {"derived-check_repl.rc0.ok.txt", "tool-master_switch.rc0.success.txt",
        "tool-check_repl.rc1.no_alive_server.txt", "derived-manager_log.failover_success.log"})
    EXPECT_EQ(explain_known_mha_bugs(sample(f)), "") << f;
  // The healthy node-tool line mentions super_read_only too, without the error.
  EXPECT_EQ(
      explain_known_mha_bugs("Checking if super_read_only is defined and turned on.. not present or turned "
                             "off, ignoring."),
      "");
}

// ------------------------------------------------------------------ text leaving the parsers

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

TEST(KeptText, IsValidUtf8WithoutControlBytes) {
  std::string log =
      "Starting master failover.\n[error][x.pm, ln1] bad \xff\xfe byte \x01 and caf\xc3\xa9 \xe2\x82\n";
  FailoverReport r = parse_failover_report(log + "Got ERROR: x\n");
  ASSERT_EQ(r.outcome, FailoverOutcome::Failed);
  EXPECT_TRUE(valid_utf8(r.summary));
  ReplCheckResult c = parse_check_repl(log, 1);
  EXPECT_EQ(c.summary, "bad ?? byte ? and caf\xc3\xa9 ??");
  EXPECT_TRUE(valid_utf8(c.summary));
  // A multi-byte character cut by the length bound does not leave half a sequence.
  std::string longline = "[error][x.pm, ln1] " + std::string(999, 'a') + "\xc3\xa9tail";
  ReplCheckResult cut = parse_check_repl(longline, 1);
  EXPECT_TRUE(valid_utf8(cut.summary)) << cut.summary;
  EXPECT_EQ(cut.summary.substr(999), "?...");
}

// ------------------------------------------------------------------ secrets

TEST(Redaction, MasksPasswords) {
  EXPECT_EQ(redact_mha_secrets("CHANGE MASTER TO MASTER_USER='repl', MASTER_PASSWORD='s3cr,et';"),
            "CHANGE MASTER TO MASTER_USER='repl', MASTER_PASSWORD='xxx';");
  EXPECT_EQ(redact_mha_secrets("apply --slave_pass=hunter2 --x=1"), "apply --slave_pass=xxx --x=1");
  EXPECT_EQ(redact_mha_secrets("--orig_master_password=a --new_master_password=\"b c\""),
            "--orig_master_password=xxx --new_master_password=\"xxx\"");
  EXPECT_EQ(redact_mha_secrets("mysql --password=pw --user=u"), "mysql --password=xxx --user=u");
  EXPECT_EQ(redact_mha_secrets("CREATE USER r IDENTIFIED BY 'pw1'"), "CREATE USER r IDENTIFIED BY 'xxx'");
  EXPECT_EQ(redact_mha_secrets("master_password = 'q'"), "master_password = 'xxx'");
  EXPECT_EQ(redact_mha_secrets("MASTER_PASSWORD='unterminated"), "MASTER_PASSWORD='xxx");
  EXPECT_EQ(redact_mha_secrets("compass=north bypass=1"), "compass=xxx bypass=xxx");  // errs on the safe side
  EXPECT_EQ(redact_mha_secrets("user=root port=3306"), "user=root port=3306");
}

TEST(Redaction, NoPasswordLeaksFromAnyParser) {
  std::string log =
      "Starting master failover.\n"
      "Fri Nov 29 10:00:00 2024 - [error][/usr/share/perl5/MHA/X.pm, ln1] mysql --password=TopSecret1 "
      "failed\n"
      "Fri Nov 29 10:00:00 2024 - [error][/usr/share/perl5/MHA/ManagerUtil.pm, ln178] Got ERROR: "
      "MASTER_PASSWORD='TopSecret2' at x line 1.\n"
      "db3(1.2.3.4:3306): ERROR: --slave_pass=TopSecret3\n"
      "MySQL Replication Health is NOT OK!\nSSH Configuration Check Failed!\n";
  FailoverReport f = parse_failover_report(log);
  std::string all = f.summary;
  for (const auto& w : f.warnings)
    all += w;
  all += parse_check_repl(log, 1).summary + parse_check_ssh(log).summary +
         parse_master_switch(log, 1).summary + parse_check_status(log, 1).summary;
  EXPECT_EQ(all.find("TopSecret"), std::string::npos) << all;
}

// ------------------------------------------------------------------ every real capture

// The lab drops real outputs into tests/data/mha/captured/ (README.md says how each was made;
// exit_codes.json gives each tool's exit code). Every file must match one of the rules below, chosen
// by its name, so a new capture cannot slip in untested.
const fs::path kCaptured = fs::path(MHAFB_TEST_DATA_DIR) / "mha" / "captured";

std::optional<int> captured_exit_code(const std::string& file) {
  auto j = nlohmann::json::parse(slurp(kCaptured / "exit_codes.json"), nullptr, false);
  if (j.is_discarded() || !j.contains(file)) return std::nullopt;
  return j[file].get<int>();
}

bool name_has(const std::string& name, std::string_view part) {
  return name.find(part) != std::string::npos;
}

TEST(Captured, EveryFileMatchesWhatItsNameSays) {
  if (!fs::exists(kCaptured)) GTEST_SKIP() << "no captured outputs yet in " << kCaptured;
  std::size_t checked = 0;
  for (const auto& e : fs::directory_iterator(kCaptured)) {
    const std::string name = e.path().filename().string();
    if (name == "README.md" || name == "exit_codes.json" || name_has(name, "flag-listing")) continue;
    SCOPED_TRACE(name);
    const std::string text = slurp(e.path());
    const std::optional<int> rc = captured_exit_code(name);
    const std::string bugs = explain_known_mha_bugs(text);
    ++checked;

    if (name.rfind("masterha_check_ssh.", 0) == 0) {
      ASSERT_TRUE(rc.has_value());
      EXPECT_EQ(*rc, 255);  // success or not: the exit code says nothing
      SshCheckResult r = parse_check_ssh(text);
      EXPECT_EQ(r.ok, name_has(name, ".ok")) << r.summary;
      if (!r.ok) {
        EXPECT_NE(r.summary.find("failed!"), std::string::npos) << r.summary;
      }
      EXPECT_EQ(bugs, "");
    } else if (name.rfind("masterha_check_repl.", 0) == 0) {
      ASSERT_TRUE(rc.has_value());
      ReplCheckResult r = parse_check_repl(text, *rc);
      EXPECT_EQ(r.ok, name_has(name, ".ok")) << r.summary;
      if (name_has(name, "unpatched-nodeutil")) {
        EXPECT_EQ(r.summary, "Redundant argument in sprintf at /usr/share/perl5/MHA/NodeUtil.pm line 195.");
        EXPECT_NE(bugs.find("MHA::NodeUtil"), std::string::npos);
      } else {
        EXPECT_EQ(bugs, "");
      }
      if (name_has(name, "not-ok")) {
        EXPECT_EQ(r.summary, "There is no alive slave. We can't do failover");
      }
    } else if (name.rfind("apply_diff_relay_logs.", 0) == 0) {
      EXPECT_NE(bugs.find("MHA::SlaveUtil"), std::string::npos);
      EXPECT_EQ(bugs.find("MHA::NodeUtil"), std::string::npos);
    } else if (name.rfind("masterha_check_status.", 0) == 0) {
      ASSERT_TRUE(rc.has_value());
      ManagerStatus s = parse_check_status(text, *rc);
      EXPECT_EQ(s.code, *rc);
      EXPECT_EQ(s.running_ok, name_has(name, "running-ping-ok")) << s.summary;
      if (*rc == 2) {
        EXPECT_EQ(s.name, "NOT_RUNNING");
      }
      if (*rc == 50) {
        EXPECT_EQ(s.name, "FAILOVER_RUNNING");
        EXPECT_EQ(s.master, "127.0.0.11");
      }
      if (s.running_ok) {
        EXPECT_EQ(s.master, "127.0.0.11");
      }
    } else if (name.rfind("health.", 0) == 0) {
      auto h = parse_health_file(text);
      ASSERT_TRUE(h.ok()) << h.error().message;
      EXPECT_GT(h->pid, 1);
      EXPECT_EQ(h->master, "127.0.0.11");
      std::string expected = name_has(name, "ping-ok")            ? "PING_OK"
                             : name_has(name, "ping-failing")     ? "PING_FAILING"
                             : name_has(name, "ping-failed")      ? "PING_FAILED"
                             : name_has(name, "failover-running") ? "FAILOVER_RUNNING"
                                                                  : "?";
      EXPECT_EQ(h->name, expected);
    } else if (name.rfind("masterha_master_switch.alive.", 0) == 0) {
      ASSERT_TRUE(rc.has_value());
      SwitchResult r = parse_master_switch(text, *rc);
      if (name_has(name, ".ok")) {
        EXPECT_EQ(r.outcome, SwitchOutcome::Success) << r.summary;
        EXPECT_EQ(r.summary, "Switching master to 127.0.0.11(127.0.0.11:3306) completed successfully.");
        EXPECT_TRUE(r.writes_were_blocked);
      } else if (name_has(name, "manager-running")) {
        EXPECT_EQ(r.outcome, SwitchOutcome::Failed);
        EXPECT_FALSE(r.writes_were_blocked);
        EXPECT_EQ(
            r.summary,
            "Getting advisory lock failed on the current master. MHA Monitor runs on the current master. "
            "Stop MHA Manager/Monitor and try again.");
      } else if (name_has(name, "long-update")) {
        EXPECT_EQ(r.outcome, SwitchOutcome::Failed);
        EXPECT_FALSE(r.writes_were_blocked);  // refused in phase 1: the lab saw db1 stay writable
        EXPECT_EQ(
            r.summary,
            "We should not start online master switch when one of connections are running long updates on "
            "the current master(127.0.0.11(127.0.0.11:3306)). Currently 1 update thread(s) are running.");
      } else if (name_has(name, "already-master")) {
        EXPECT_EQ(r.outcome, SwitchOutcome::Failed);
        EXPECT_TRUE(r.writes_were_blocked);  // the lab saw db1 left with read_only=1
        EXPECT_NE(r.summary.find("master_pos_wait(mysql-bin.000001:2689) returned NULL"), std::string::npos)
            << r.summary;
      } else {
        ADD_FAILURE() << "no expectation for this switch capture";
      }
      EXPECT_EQ(bugs, "");
    } else if (name.rfind("masterha_master_switch.dead.", 0) == 0) {
      // With --interactive=0 the failover logs to manager_log; stdout has only the config lines.
      FailoverReport r = parse_failover_report(text);
      EXPECT_FALSE(r.started);
      EXPECT_EQ(r.outcome, FailoverOutcome::Unknown);
    } else if (name.rfind("manager_log.", 0) == 0) {
      FailoverReport r = parse_failover_report(text);
      if (name_has(name, "failover")) {
        EXPECT_TRUE(r.started);
        EXPECT_EQ(r.outcome, FailoverOutcome::Success);
        EXPECT_EQ(r.summary, "Master failover to 127.0.0.12(127.0.0.12:3306) completed successfully.");
        EXPECT_EQ(r.dead_master_host, "127.0.0.11");
        EXPECT_EQ(r.dead_master_port, 3306);
        EXPECT_EQ(r.new_master_host, "127.0.0.12");
        EXPECT_EQ(r.new_master_ip, "127.0.0.12");
        EXPECT_EQ(r.new_master_port, 3306);
        ASSERT_TRUE(r.promotion.has_value());
        EXPECT_EQ(r.promotion->host, "127.0.0.12");
        EXPECT_EQ(r.promotion->port, 3306);
        EXPECT_EQ(r.promotion->position, (BinlogPosition{"mysql-bin.000001", 2689}));
        ASSERT_TRUE(r.latest_replica_position.has_value());
        bool unreachable = name_has(name, "ssh-unreachable");
        EXPECT_EQ(r.dead_master_ssh_reachable, !unreachable);
        EXPECT_EQ(r.latest_replica_position->label(),
                  unreachable ? "mysql-bin.000003:342" : "mysql-bin.000001:2689");
        if (unreachable) {
          ASSERT_FALSE(r.warnings.empty());
          EXPECT_EQ(r.warnings.front().rfind("Dead Master is not SSH reachable.", 0), 0u)
              << r.warnings.front();
        } else {
          EXPECT_TRUE(r.warnings.empty());
        }
      } else {
        EXPECT_FALSE(r.started);
        EXPECT_EQ(r.outcome, FailoverOutcome::Unknown);
      }
      EXPECT_EQ(bugs, "");
    } else {
      ADD_FAILURE() << "captured file without an expectation: add a rule for it";
    }
    // Whatever the file, nothing crashes and no password leaves a parser.
    FailoverReport any = parse_failover_report(text);
    EXPECT_EQ(any.summary.find("<password>"), std::string::npos);
    (void)parse_check_ssh(text);
    (void)parse_master_switch(text, 0);
  }
  EXPECT_GE(checked, 20u);
}

// ------------------------------------------------------------------ totality

TEST(Totality, EverySampleThroughEveryParser) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(kSamples)) {
    std::string text = slurp(e.path());
    ++n;
    (void)parse_failover_report(text);
    (void)parse_check_ssh(text);
    (void)parse_check_repl(text, 1);
    (void)parse_master_switch(text, 1);
    (void)parse_check_status(text, 1);
    (void)parse_health_file(text);
    (void)explain_known_mha_bugs(text);
    // Truncated at every 97th byte: partial lines and cut prefixes.
    for (std::size_t cut = 0; cut < text.size(); cut += 97) {
      std::string_view part(text.data(), cut);
      (void)parse_failover_report(part);
      (void)parse_master_switch(part, 0);
      (void)parse_check_status(part, 0);
    }
  }
  EXPECT_GT(n, 30u);
}

TEST(Totality, RandomGarbage) {
  std::mt19937 rng(4242);  // NOLINT(cert-msc51-cpp): a fixed seed keeps a failure reproducible
  static const std::string_view kPieces[] = {
      "Sun Nov 24 10:20:24 2024 - ",
      "[info] ",
      "[error][/x.pm, ln1] ",
      "Starting master failover.",
      "New master is ",
      "Master failover to ",
      " completed successfully.",
      "(",
      ")",
      ":",
      "'",
      "Statement should be: CHANGE MASTER TO MASTER_HOST='",
      "MASTER_LOG_POS=",
      "=",
      "Got ERROR:",
      "\n",
      "\r",
      std::string_view("\0\xff", 2),
      "password=",
      "\t",
      "master:",
      "0:PING_OK",
      "99999999999999999999999",
  };
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    int n = static_cast<int>(rng() % 30);
    for (int k = 0; k < n; ++k) {
      if (rng() % 3 == 0)
        s += static_cast<char>(rng() % 256);
      else
        s += kPieces[rng() % std::size(kPieces)];
    }
    FailoverReport f = parse_failover_report(s);
    for (const auto& w : f.warnings) {
      ASSERT_LE(w.size(), 1010u);
      ASSERT_TRUE(valid_utf8(w));
    }
    ASSERT_TRUE(valid_utf8(f.summary));
    ASSERT_TRUE(valid_utf8(f.new_master_host + f.dead_master_host + f.new_master_ip));
    ASSERT_TRUE(valid_utf8(parse_check_ssh(s).summary));
    ASSERT_TRUE(valid_utf8(parse_check_repl(s, static_cast<int>(rng() % 3)).summary));
    ASSERT_TRUE(valid_utf8(parse_master_switch(s, static_cast<int>(rng() % 12)).summary));
    ManagerStatus ms = parse_check_status(s, static_cast<int>(rng() % 60));
    ASSERT_TRUE(valid_utf8(ms.summary + ms.master + ms.name));
    (void)parse_health_file(s);
    (void)explain_known_mha_bugs(s);
    (void)redact_mha_secrets(s);
  }
  SUCCEED();
}

TEST(Totality, HugeInputsStayBoundedAndLinear) {
  // 4 MB in one line and 4 MB of short lines; outputs stay bounded.
  std::string one_line(4 << 20, 'x');
  one_line = "Got ERROR: " + one_line;
  std::string many;
  for (int i = 0; i < 200000; ++i)
    many += "Sun Nov 24 10:20:24 2024 - [warning] db3(1.2.3.4:3306): ERROR: x were lost\n";
  FailoverReport a = parse_failover_report("Starting master failover.\n" + one_line);
  EXPECT_EQ(a.outcome, FailoverOutcome::Failed);
  EXPECT_LE(a.summary.size(), 1010u);
  FailoverReport b = parse_failover_report(many);
  EXPECT_LE(b.warnings.size(), 50u);
  ReplCheckResult c = parse_check_repl(many + one_line, 1);
  EXPECT_LE(c.summary.size(), 1010u);
  (void)parse_check_ssh(many);
  (void)parse_master_switch(many, 0);
  (void)parse_check_status(many, 0);
  (void)parse_health_file(one_line);
  // Shapes that would be quadratic with a naive scan: every '(' looking for a far ')', every '='
  // looking back over a long key, every prefix-like line start.
  std::string parens(1 << 20, '(');
  parens += "0:PING_OK)";
  ManagerStatus st = parse_check_status(parens, 0);
  EXPECT_FALSE(st.running_ok);
  std::string keys(1 << 20, 'a');
  for (int i = 0; i < 100000; ++i)
    keys += "password=";
  EXPECT_EQ(redact_mha_secrets(keys).find("password=password"), std::string::npos);
  std::string brackets;
  for (int i = 0; i < 200000; ++i)
    brackets += "[error][x, ln1";
  (void)parse_check_repl(brackets, 1);
  (void)parse_failover_report(std::string(1 << 20, '\n'));
  (void)redact_mha_secrets(one_line);
}

}  // namespace
}  // namespace mhafb
