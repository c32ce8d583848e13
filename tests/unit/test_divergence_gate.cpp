// Step 4, the divergence gate: never rejoin a server holding transactions the new master lacks.
// MariaDB: gtid_binlog_state per (domain, server_id), with the new master's gtid_slave_pos for a new
// master without log_slave_updates; MySQL: gtid_executed subset; without GTIDs: the old master's
// binlog end against what the replicas had read, when MHA could not save the rest over SSH.
// Diverged: blocked, the extra transactions saved with mysqlbinlog (binlog_extract) and a report
// written beside them for the operator; when they cannot be saved, blocked all the same with the
// reason saying why. A gate that passes reads the snapshot only: no SQL, no command.
//
// mysqlbinlog runs through the scripted CommandPort; the world model below answers the old master's
// SHOW BINARY LOGS / BINLOG_GTID_POS and plays mysqlbinlog: it reads the option file the gate wrote
// (recording its mode and content) and writes canned output to --result-file. The state directory
// is a real temporary directory, because the extract and its private directory live on disk.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::string kStamp = "20261124T041604Z";
const std::string kReport = kStateDir + "/history/app1-divergence-" + kStamp + ".txt";

// A real, empty state directory, removed afterwards.
struct TempStateDir {
  std::string path;
  TempStateDir() : path(::testing::TempDir() + "mhafb-divergence-XXXXXX") {
    if (!::mkdtemp(path.data())) ADD_FAILURE() << "mkdtemp " << path;
  }
  ~TempStateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string report() const { return path + "/history/app1-divergence-" + kStamp + ".txt"; }
  std::string extract() const { return path + "/history/app1-divergence-" + kStamp + ".binlog.sql"; }
  // Entries of history/ on disk (the report lives in MemoryFiles, not here).
  std::vector<std::string> on_disk() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path + "/history", ec))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// One GTID event of mysqlbinlog --verbose output, as MariaDB 10.11's prints it (row-based insert).
std::string binlog_event(const std::string& gtid, const std::string& note) {
  return "# at 400\n#261124  4:10:00 server id 1  end_log_pos 442 CRC32 0xe94a1ec3 \tGTID " + gtid +
         " trans\n/*M!100001 SET @@session.gtid_seq_no=1*//*!*/;\nSTART TRANSACTION\n/*!*/;\n"
         "#261124  4:10:00 server id 1  end_log_pos 820 CRC32 0xf20fd3b7 \tWrite_rows: table id 18 "
         "flags: STMT_END_F\n### INSERT INTO `lab`.`diverge`\n### SET\n###   @1=1\n###   @2='" +
         note +
         "'\n#261124  4:10:00 server id 1  end_log_pos 851 CRC32 0x8761cc4d \tXid = 19\nCOMMIT/*!*/;\n";
}

// The old master's binlogs and mysqlbinlog, as the world model answers them.
struct BinlogWorld {
  std::vector<std::pair<std::string, std::optional<std::string>>> files{
      {"mysql-bin.000001", ""}, {"mysql-bin.000002", "0-1-10"}, {"mysql-bin.000003", "0-1-15"}};
  std::string output = binlog_event("0-1-14", "only-on-db1-0") + binlog_event("0-1-15", "only-on-db1-1") +
                       binlog_event("0-1-16", "only-on-db1-2");
  Result<CommandOutput> result = exited(0);
  // What mysqlbinlog saw.
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string defaults_path, defaults_text;
  unsigned defaults_mode = 0, dir_mode = 0, result_mode = 0;

  std::optional<Reply> answer(const Call& c) {
    Reply r;
    if (c.kind == CallKind::Sql && c.target == kOld && c.text == "SHOW BINARY LOGS") {
      ResultSet rs;
      rs.columns = {"Log_name", "File_size"};
      for (const auto& f : files)
        rs.rows.push_back({f.first, "1000"});
      r.rows = rs;
      return r;
    }
    if (c.kind == CallKind::Sql && c.target == kOld && c.text.starts_with("SELECT BINLOG_GTID_POS('")) {
      for (const auto& f : files)
        if (c.text == "SELECT BINLOG_GTID_POS('" + f.first + "', 4)") {
          r.rows = rows({"BINLOG_GTID_POS('" + f.first + "', 4)"}, {{f.second}});
          return r;
        }
    }
    if (c.kind == CallKind::Command && !c.spec.argv.empty() && c.spec.argv[0] == "/usr/bin/mysqlbinlog") {
      argv = c.spec.argv;
      env = c.spec.env;
      std::string result_file;
      for (const auto& a : argv) {
        if (a.starts_with("--defaults-file=")) defaults_path = a.substr(16);
        if (a.starts_with("--result-file=")) result_file = a.substr(14);
      }
      defaults_text = read_file(defaults_path);
      defaults_mode = mode_of(defaults_path);
      dir_mode = mode_of(std::filesystem::path(defaults_path).parent_path().string());
      result_mode = mode_of(result_file);
      if (result && result->succeeded()) std::ofstream(result_file, std::ios::binary) << output;
      r.output = result;
      return r;
    }
    return std::nullopt;
  }
};

std::shared_ptr<BinlogWorld> install_world(StepHarness& h) {
  auto w = std::make_shared<BinlogWorld>();
  h.config.commands.mysqlbinlog = "/usr/bin/mysqlbinlog";
  h.script.answer_with([w](const Call& c) { return w->answer(c); });
  return w;
}

void fenced(StepHarness& h) {
  h.state = state_in(ClusterState::Degraded);
  h.snapshot = old_fenced();
}

// The captured failover with the dead master unreachable over SSH: the old master had committed
// 0-1-14..0-1-16 that never reached 127.0.0.12 (gtid_binlog_pos 0-1-16 vs 0-1-13). The state
// directory is `dir`; the world answers SQL and mysqlbinlog.
std::shared_ptr<BinlogWorld> diverged(StepHarness& h, const TempStateDir& dir) {
  fenced(h);
  h.state_dir = dir.path;
  h.state.failover->dead_master_ssh_reachable = false;
  h.state.failover->latest_replica_read = {"mysql-bin.000003", 342};
  auto& old = h.snapshot.servers[0];
  old.gtid_binlog_pos = old.gtid_binlog_state = old.gtid_current_pos = "0-1-16";
  return install_world(h);
}

TEST(DivergenceGateStep, PassesWhenTheNewMasterHoldsEverything) {
  StepHarness h;
  fenced(h);
  auto o = h.run(divergence_gate);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find(
                "divergence gate passed: 127.0.0.11 holds nothing 127.0.0.12 lacks (gtid_binlog_state)"),
            std::string::npos)
      << o.sentence;
  EXPECT_TRUE(h.state.divergence_checked);
  EXPECT_TRUE(h.script.calls().empty()) << "the gate reads the snapshot only";
  EXPECT_TRUE(h.audit.has(AuditKind::StepFinished, "divergence gate passed for 127.0.0.11"))
      << h.audit.dump();
  EXPECT_TRUE(h.files.paths_under(kStateDir).empty());
}

TEST(DivergenceGateStep, NewMasterWithoutLogSlaveUpdatesIsNotAFalseAlarm) {
  // MariaDB's default: what 127.0.0.12 replicated is in its gtid_slave_pos, not in its binlog.
  StepHarness h;
  fenced(h);
  auto& neu = h.snapshot.servers[1];
  neu.gtid_binlog_state = "0-2-20";
  neu.gtid_slave_pos = "0-1-13";
  auto o = h.run(divergence_gate);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_TRUE(h.state.divergence_checked);
}

TEST(DivergenceGateStep, ExtraTransactionsBlockAndAreSavedWithMysqlbinlog) {
  TempStateDir dir;
  StepHarness h;
  auto w = diverged(h, dir);
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_EQ(o.to, ClusterState::Blocked);
  EXPECT_NE(
      o.sentence.find("old master 127.0.0.11 has up to 3 transactions the new master lacks: 0-1-14..0-1-16"),
      std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("rejoining it would fork the data"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("its 3 extra transactions were saved in " + dir.extract()), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("details in " + dir.report()), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("inspect " + dir.extract()), std::string::npos) << o.suggestion;
  EXPECT_NE(o.suggestion.find("re-apply by hand on 127.0.0.12 what must be kept or discard them"),
            std::string::npos)
      << o.suggestion;
  EXPECT_NE(o.suggestion.find("mha-failbackctl ack app1"), std::string::npos);
  EXPECT_FALSE(h.state.divergence_checked) << "a diverged server never counts as checked";

  // mysqlbinlog: read from the old master over the network, GTID window 0-1-13 (exclusive) to 0-1-16,
  // from the newest binlog that starts before 0-1-14 (000002 starts at 0-1-10, 000003 at 0-1-15).
  const std::vector<std::string> want{
      "/usr/bin/mysqlbinlog",
      "--defaults-file=" + w->defaults_path,
      "--read-from-remote-server",
      "--protocol=TCP",
      "--host=127.0.0.11",
      "--port=3306",
      "--to-last-log",
      "--verbose",
      "--start-position=0-1-13",
      "--stop-position=0-1-16",
      "--result-file=" + w->defaults_path.substr(0, w->defaults_path.rfind('/')) + "/app1-divergence-" +
          kStamp + ".binlog.sql",
      "mysql-bin.000002"};
  EXPECT_EQ(w->argv, want);
  EXPECT_TRUE(w->env.empty()) << "nothing in the child's environment";
  EXPECT_EQ(w->defaults_path.rfind(dir.path + "/history/.extract-", 0), 0u) << w->defaults_path;
  EXPECT_EQ(w->dir_mode, 0700u);
  EXPECT_EQ(w->defaults_mode, 0600u);
  EXPECT_EQ(w->result_mode, 0600u) << "the output file is private before mysqlbinlog writes into it";
  EXPECT_EQ(w->defaults_text, "[client]\nuser=\"mhaadmin\"\npassword=\"" + kAdminPassword + "\"\n");
  for (const auto& a : w->argv)
    EXPECT_EQ(a.find(kAdminPassword), std::string::npos) << a;

  // The extract, 0600, in place; the private directory with the option file is gone.
  EXPECT_EQ(dir.on_disk(), std::vector<std::string>{"app1-divergence-" + kStamp + ".binlog.sql"});
  EXPECT_EQ(mode_of(dir.extract()), 0600u);
  EXPECT_EQ(read_file(dir.extract()), w->output);

  const auto* report = h.files.find(dir.report());
  ASSERT_NE(report, nullptr) << "report not written; files: "
                             << ::testing::PrintToString(h.files.paths_under("/"));
  EXPECT_EQ(report->mode, 0600u);
  for (const std::string& needle :
       {std::string("Divergence found by mha-failback on cluster app1"),
        std::string("old master: 127.0.0.11 (server_id 1)"),
        std::string("new master: 127.0.0.12 (server_id 2)"), std::string("method: gtid_binlog_state"),
        std::string("old gtid_binlog_state: 0-1-16"), std::string("new gtid_binlog_state: 0-1-13,0-2-20"),
        std::string("extra transactions: 0-1-14..0-1-16"), "saved transactions: " + dir.extract(),
        std::string("saved transaction count: 3 ("), std::string("Next steps: inspect "),
        std::string("mha-failbackctl ack app1")})
    EXPECT_NE(report->content.find(needle), std::string::npos) << needle << "\n" << report->content;
  EXPECT_EQ(report->content.find("NOT extra"), std::string::npos) << report->content;

  auto div = h.audit.of(AuditKind::Divergence);
  ASSERT_EQ(div.size(), 1u) << h.audit.dump();
  EXPECT_EQ(div[0].priority, AuditPriority::Err);
  EXPECT_EQ(div[0].server, kOld);
  EXPECT_EQ(div[0].fields.at("REPORT"), dir.report());
  EXPECT_EQ(div[0].fields.at("TRANSACTIONS_FILE"), dir.extract());
  EXPECT_TRUE(h.audit.has(AuditKind::Command, "mysqlbinlog")) << h.audit.dump();
  EXPECT_TRUE(h.mutating_sql().empty()) << "the gate never changes a server";
  EXPECT_TRUE(secret_nowhere(h, kAdminPassword));
}

TEST(DivergenceGateStep, ReportThatCannotBeWrittenStillBlocks) {
  TempStateDir dir;
  StepHarness h;
  diverged(h, dir);
  h.files.fail_next("write_atomic", dir.path, Error::failed("Read-only file system"));
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the report could not be saved: Read-only file system"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("0-1-14..0-1-16"), std::string::npos) << "the sentence alone names them";
  EXPECT_NE(o.sentence.find("saved in " + dir.extract()), std::string::npos) << "and where they are";
  EXPECT_EQ(h.audit.of(AuditKind::Divergence).at(0).fields.at("REPORT"), "");
  EXPECT_FALSE(h.state.divergence_checked);
}

// Every way the extraction can fail: still blocked, the reason says the transactions could not be
// saved and why, no extract and no option file left behind.
struct ExtractFailure {
  std::string name;
  std::function<void(StepHarness&, BinlogWorld&, TempStateDir&)> arrange;
  std::string why;
};

TEST(DivergenceGateStep, ExtractionFailuresStayBlockedAndSayWhy) {
  const std::vector<ExtractFailure> cases{
      {"mysqlbinlog exits 1",
       [](StepHarness&, BinlogWorld& w, TempStateDir&) {
         w.result = exited(1, "",
                           "mysqlbinlog: [Warning] x\nERROR: Failed on connect: Access denied for user "
                           "'mhaadmin'@'127.0.0.1' (using password: YES)\n");
       },
       "mysqlbinlog exited 1: ERROR: Failed on connect: Access denied for user"},
      {"mysqlbinlog times out", [](StepHarness&, BinlogWorld& w, TempStateDir&) { w.result = timed_out(); },
       "mysqlbinlog timed out after 180 s"},
      {"mysqlbinlog cannot start",
       [](StepHarness&, BinlogWorld& w, TempStateDir&) {
         w.result = Error::not_found("no such program: /usr/bin/mysqlbinlog");
       },
       "mysqlbinlog could not be started: no such program"},
      {"mysqlbinlog finds none of them",
       [](StepHarness&, BinlogWorld& w, TempStateDir&) { w.output = binlog_event("0-1-12", "old"); },
       "mysqlbinlog found none of the extra transactions in the binary logs of 127.0.0.11"},
      {"the binlogs were purged",
       [](StepHarness&, BinlogWorld& w, TempStateDir&) {
         w.files = {{"mysql-bin.000007", "0-1-15"}, {"mysql-bin.000008", "0-1-16"}};
       },
       "the binary logs of 127.0.0.11 no longer hold the first extra transaction 0-1-14 (its oldest binlog "
       "mysql-bin.000007 starts after 0-1-15): they were purged"},
      {"SHOW BINARY LOGS fails",
       [](StepHarness& h, BinlogWorld&, TempStateDir&) {
         h.script.expect(
             {CallKind::Sql, "SHOW BINARY LOGS", [](const Call& c) { return c.text == "SHOW BINARY LOGS"; },
              Reply{Result<ResultSet>(Error::failed("Access denied; you need (at least one of) the "
                                                    "BINLOG MONITOR privilege(s)",
                                                    1227)),
                    {},
                    {}}});
       },
       "SHOW BINARY LOGS on 127.0.0.11 failed: Access denied"},
      {"the state directory cannot hold it",
       [](StepHarness& h, BinlogWorld&, TempStateDir& d) {
         std::ofstream(d.path + "/history") << "a file where the directory should be";
         (void)h;
       },
       "cannot create directory " /* + path */},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempStateDir dir;
    StepHarness h;
    auto w = diverged(h, dir);
    c.arrange(h, *w, dir);
    auto o = h.run(divergence_gate);
    ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
    EXPECT_NE(o.sentence.find("0-1-14..0-1-16"), std::string::npos) << o.sentence;
    EXPECT_NE(o.sentence.find("the extra transactions could not be saved: " + c.why), std::string::npos)
        << o.sentence;
    EXPECT_NE(o.suggestion.find("the extra transactions could not be saved"), std::string::npos)
        << o.suggestion;
    EXPECT_NE(o.suggestion.find("mha-failbackctl ack app1"), std::string::npos) << o.suggestion;
    EXPECT_FALSE(h.state.divergence_checked);
    const auto* report = h.files.find(dir.report());
    ASSERT_NE(report, nullptr);
    EXPECT_NE(report->content.find("saved transactions: none: " + c.why), std::string::npos)
        << report->content;
    EXPECT_EQ(h.audit.of(AuditKind::Divergence).at(0).fields.at("TRANSACTIONS_FILE"), "");
    for (const auto& name : dir.on_disk())
      ADD_FAILURE() << "left behind in history/: " << name;
    EXPECT_TRUE(secret_nowhere(h, kAdminPassword));
  }
}

TEST(DivergenceGateStep, TransactionsInTheFileThatAreNotExtraAreNamed) {
  // A transaction of another origin inside the GTID window: kept in the file, named in the report.
  TempStateDir dir;
  StepHarness h;
  auto w = diverged(h, dir);
  w->output = binlog_event("0-1-14", "a") + binlog_event("0-3-15", "other") + binlog_event("0-1-16", "b");
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("its 2 extra transactions were saved"), std::string::npos) << o.sentence;
  const auto* report = h.files.find(dir.report());
  ASSERT_NE(report, nullptr);
  EXPECT_NE(report->content.find("also in the file, NOT extra (the new master has them, skip them): 0-3-15"),
            std::string::npos)
      << report->content;
}

TEST(DivergenceGateStep, PlanningExtractsNothing) {
  TempStateDir dir;
  StepHarness h;
  diverged(h, dir);
  auto o = h.run(divergence_gate, /*planning=*/true);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_TRUE(h.script.calls_of(CallKind::Command).empty());
  EXPECT_TRUE(h.script.calls_of(CallKind::Sql).empty());
  EXPECT_TRUE(dir.on_disk().empty());
}

TEST(DivergenceGateStep, TransactionsFromAnOriginTheNewMasterNeverSawBlock) {
  // A second domain written only on the old master: its window starts at 1-1-0.
  TempStateDir dir;
  StepHarness h;
  fenced(h);
  h.state_dir = dir.path;
  h.snapshot.servers[0].gtid_binlog_state = "0-1-13,1-1-4";
  auto w = install_world(h);
  w->output = binlog_event("1-1-1", "a") + binlog_event("1-1-4", "b");
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("1-1-1..1-1-4 (the new master has none from 1-1)"), std::string::npos)
      << o.sentence;
  EXPECT_NE(std::find(w->argv.begin(), w->argv.end(), "--start-position=1-1-0"), w->argv.end());
  EXPECT_NE(std::find(w->argv.begin(), w->argv.end(), "--stop-position=1-1-4"), w->argv.end());
  EXPECT_EQ(w->argv.back(), "mysql-bin.000003") << "no binlog starts with a GTID of domain 1";
  EXPECT_NE(o.sentence.find("its 2 extra transactions were saved"), std::string::npos) << o.sentence;
}

TEST(DivergenceGateStep, UnparsableGtidStateBlocks) {
  StepHarness h;
  fenced(h);
  h.snapshot.servers[1].gtid_binlog_state = "0-2-x";
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("cannot compare the GTID states of 127.0.0.11 and 127.0.0.12"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.suggestion.find("SELECT @@gtid_binlog_state on both"), std::string::npos);
  EXPECT_FALSE(h.state.divergence_checked);
}

TEST(DivergenceGateStep, MysqlGtidExecutedSubsetPassesAndExtrasBlock) {
  const std::string u1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562";  // old master
  const std::string u2 = "4a7b1c2d-0000-11ee-8000-00163e000002";  // new master
  for (bool extra : {false, true}) {
    StepHarness h;
    fenced(h);
    for (auto& s : h.snapshot.servers) {
      s.flavor = Flavor::MySQL;
      s.version = kMysqlVersion;
      s.gtid_binlog_pos = s.gtid_binlog_state = s.gtid_slave_pos = s.gtid_current_pos = "";
    }
    h.snapshot.servers[0].gtid_executed = u1 + ":1-" + (extra ? "16" : "13");
    h.snapshot.servers[1].gtid_executed = u1 + ":1-13,\n" + u2 + ":1-7";
    auto o = h.run(divergence_gate);
    if (!extra) {
      EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
      EXPECT_NE(o.sentence.find("(gtid_executed)"), std::string::npos) << o.sentence;
      EXPECT_TRUE(h.state.divergence_checked);
    } else {
      ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
      EXPECT_NE(o.sentence.find(u1 + ":14-16"), std::string::npos) << o.sentence;
      EXPECT_NE(h.files.find(kReport)->content.find("old gtid_executed: " + u1 + ":1-16"), std::string::npos);
      EXPECT_FALSE(h.state.divergence_checked);
    }
  }
}

void position_mode(StepHarness& h) {
  fenced(h);
  for (auto& s : h.snapshot.servers)
    s.gtid_binlog_pos = s.gtid_binlog_state = s.gtid_slave_pos = s.gtid_current_pos = "";
}

TEST(DivergenceGateStep, PositionModeTrustsMhaWhenItSavedTheDeadMastersBinlog) {
  StepHarness h;
  position_mode(h);
  auto o = h.run(divergence_gate);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find("(binlog coordinates)"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.state.divergence_checked);
}

TEST(DivergenceGateStep, PositionModeBlocksWhenTheOldMasterWroteBeyondWhatWasSaved) {
  TempStateDir dir;
  StepHarness h;
  position_mode(h);
  h.state_dir = dir.path;
  auto w = install_world(h);
  h.state.failover->dead_master_ssh_reachable = false;
  h.state.failover->latest_replica_read = {"mysql-bin.000001", 2689};
  h.snapshot.servers[0].binlog_end = {"mysql-bin.000001", 3400};
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(
      o.sentence.find("wrote its binlog up to mysql-bin.000001:3400 but the replicas had only read up to "
                      "mysql-bin.000001:2689"),
      std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("could not reach it over SSH"), std::string::npos) << o.sentence;
  // Everything after what the replicas had read, to the end of the last binlog; no SQL needed.
  EXPECT_TRUE(h.script.calls_of(CallKind::Sql).empty());
  ASSERT_GE(w->argv.size(), 3u);
  EXPECT_EQ(w->argv[w->argv.size() - 3], "--start-position=2689");
  EXPECT_EQ(w->argv.back(), "mysql-bin.000001");
  EXPECT_EQ(std::count_if(w->argv.begin(), w->argv.end(),
                          [](const std::string& a) { return a.starts_with("--stop-position"); }),
            0);
  EXPECT_NE(o.sentence.find("its 3 extra transactions were saved in " + dir.extract()), std::string::npos)
      << o.sentence;
  ASSERT_NE(h.files.find(dir.report()), nullptr);
  EXPECT_NE(h.files.find(dir.report())->content.find("method: binlog coordinates"), std::string::npos);
}

TEST(DivergenceGateStep, PositionModeWithoutCoordinatesCannotProveAnythingAndBlocks) {
  StepHarness h;
  position_mode(h);
  h.state.failover->latest_replica_read = {};
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("cannot prove that 127.0.0.11 holds nothing the new master lacks"),
            std::string::npos)
      << o.sentence;
  EXPECT_FALSE(h.state.divergence_checked);
}

TEST(DivergenceGateStep, AServerNotAnsweringRetries) {
  for (int which : {0, 1}) {
    StepHarness h;
    fenced(h);
    h.snapshot.servers[which] = down(which == 0 ? kOld : kNew);
    auto o = h.run(divergence_gate);
    EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
    EXPECT_NE(o.sentence.find("both servers must answer SQL"), std::string::npos);
    EXPECT_FALSE(h.state.divergence_checked);
  }
}

TEST(DivergenceGateStep, ServersMissingFromTheConfigBlock) {
  StepHarness h;
  fenced(h);
  h.state.failover->new_master = "db9";
  auto o = h.run(divergence_gate);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_FALSE(h.state.divergence_checked);
}

TEST(DivergenceGateStep, ReRunAfterABlockFindsTheSameDivergence) {
  // After an acknowledge the gate runs again on the same servers: same verdict, a second report and
  // a second extract.
  TempStateDir dir;
  StepHarness h;
  diverged(h, dir);
  auto first = h.run(divergence_gate);
  h.clock.advance(std::chrono::minutes(5));
  auto second = h.run(divergence_gate);
  EXPECT_EQ(first.kind, StepOutcome::Kind::Block);
  EXPECT_EQ(second.kind, StepOutcome::Kind::Block);
  EXPECT_EQ(h.files.paths_under(dir.path + "/history").size(), 2u);
  EXPECT_EQ(dir.on_disk().size(), 2u) << ::testing::PrintToString(dir.on_disk());
  EXPECT_FALSE(h.state.divergence_checked);
}

TEST(DivergenceGateStep, InjectedFailuresStillBlockAndLeaveNoSecretBehind) {
  TempStateDir dir;
  FaultInjector<StepHarness> inj([&dir](StepHarness& h) {
    std::error_code ec;
    std::filesystem::remove_all(dir.path + "/history", ec);
    diverged(h, dir);
    h.run(divergence_gate);
  });
  std::size_t runs = inj.run([&dir](StepHarness& h, const InjectedFault& f) {
    ASSERT_TRUE(h.outcome);
    EXPECT_EQ(h.outcome->kind, StepOutcome::Kind::Block) << describe(*h.outcome);
    EXPECT_NE(h.outcome->sentence.find("0-1-14..0-1-16"), std::string::npos);
    if (f.call.kind != CallKind::File) {
      EXPECT_NE(h.outcome->sentence.find("the extra transactions could not be saved"), std::string::npos)
          << h.outcome->sentence;
    }
    EXPECT_FALSE(h.state.divergence_checked);
    for (const auto& name : dir.on_disk())
      EXPECT_EQ(name.find(".extract-"), std::string::npos) << "private directory left behind: " << name;
    EXPECT_TRUE(secret_nowhere(h, kAdminPassword));
  });
  // SHOW BINARY LOGS, BINLOG_GTID_POS of 000003 and 000002, mysqlbinlog, the report.
  EXPECT_EQ(inj.happy_calls(), 5u);
  EXPECT_GE(runs, 5u);
}

}  // namespace
}  // namespace mhafb::test
