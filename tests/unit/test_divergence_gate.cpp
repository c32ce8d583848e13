// Step 4, the divergence gate: never rejoin a server holding transactions the new master lacks.
// MariaDB: gtid_binlog_state per (domain, server_id), with the new master's gtid_slave_pos for a new
// master without log_slave_updates; MySQL: gtid_executed subset; without GTIDs: the old master's
// binlog end against what the replicas had read, when MHA could not save the rest over SSH.
// Diverged: blocked, the extra transactions named, a report written for the operator. The gate only
// reads the snapshot: it issues no SQL and no command.
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::string kReport = kStateDir + "/history/app1-divergence-20261124T041604Z.txt";

void fenced(StepHarness& h) {
  h.state = state_in(ClusterState::Degraded);
  h.snapshot = old_fenced();
}

// The captured failover with the dead master unreachable over SSH: the old master had committed
// 0-1-14..0-1-16 that never reached 127.0.0.12 (gtid_binlog_pos 0-1-16 vs 0-1-13).
void diverged(StepHarness& h) {
  fenced(h);
  h.state.failover->dead_master_ssh_reachable = false;
  h.state.failover->latest_replica_read = {"mysql-bin.000003", 342};
  auto& old = h.snapshot.servers[0];
  old.gtid_binlog_pos = old.gtid_binlog_state = old.gtid_current_pos = "0-1-16";
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

TEST(DivergenceGateStep, ExtraTransactionsBlockAndAreWrittenDown) {
  StepHarness h;
  diverged(h);
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_EQ(o.to, ClusterState::Blocked);
  EXPECT_NE(
      o.sentence.find("old master 127.0.0.11 has up to 3 transactions the new master lacks: 0-1-14..0-1-16"),
      std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("rejoining it would fork the data"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("details saved in " + kReport), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("re-apply the extra transactions on 127.0.0.12 or rebuild 127.0.0.11"),
            std::string::npos)
      << o.suggestion;
  EXPECT_NE(o.suggestion.find("mha-failbackctl ack app1"), std::string::npos);
  EXPECT_FALSE(h.state.divergence_checked) << "a diverged server never counts as checked";

  const auto* report = h.files.find(kReport);
  ASSERT_NE(report, nullptr) << "report not written; files: "
                             << ::testing::PrintToString(h.files.paths_under("/"));
  EXPECT_EQ(report->mode, 0600u);
  for (const char* needle :
       {"Divergence found by mha-failback on cluster app1", "old master: 127.0.0.11 (server_id 1)",
        "new master: 127.0.0.12 (server_id 2)", "method: gtid_binlog_state", "old gtid_binlog_state: 0-1-16",
        "new gtid_binlog_state: 0-1-13,0-2-20", "extra transactions: 0-1-14..0-1-16", "mysqlbinlog"})
    EXPECT_NE(report->content.find(needle), std::string::npos) << needle << "\n" << report->content;

  auto div = h.audit.of(AuditKind::Divergence);
  ASSERT_EQ(div.size(), 1u) << h.audit.dump();
  EXPECT_EQ(div[0].priority, AuditPriority::Err);
  EXPECT_EQ(div[0].server, kOld);
  EXPECT_EQ(div[0].fields.at("REPORT"), kReport);
  EXPECT_TRUE(h.mutating_sql().empty()) << "the gate never touches a server";
}

TEST(DivergenceGateStep, ReportThatCannotBeWrittenStillBlocks) {
  StepHarness h;
  diverged(h);
  h.files.fail_next("write_atomic", kStateDir, Error::failed("Read-only file system"));
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the report could not be saved: Read-only file system"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("0-1-14..0-1-16"), std::string::npos) << "the sentence alone names them";
  EXPECT_EQ(h.audit.of(AuditKind::Divergence).at(0).fields.at("REPORT"), "");
  EXPECT_FALSE(h.state.divergence_checked);
}

TEST(DivergenceGateStep, TransactionsFromAnOriginTheNewMasterNeverSawBlock) {
  // A second domain written only on the old master.
  StepHarness h;
  fenced(h);
  h.snapshot.servers[0].gtid_binlog_state = "0-1-13,1-1-4";
  auto o = h.run(divergence_gate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("1-1-1..1-1-4 (the new master has none from 1-1)"), std::string::npos)
      << o.sentence;
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
  StepHarness h;
  position_mode(h);
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
  ASSERT_NE(h.files.find(kReport), nullptr);
  EXPECT_NE(h.files.find(kReport)->content.find("method: binlog coordinates"), std::string::npos);
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
  // After an acknowledge the gate runs again on the same servers: same verdict, a second report.
  StepHarness h;
  diverged(h);
  auto first = h.run(divergence_gate);
  h.clock.advance(std::chrono::minutes(5));
  auto second = h.run(divergence_gate);
  EXPECT_EQ(first.kind, StepOutcome::Kind::Block);
  EXPECT_EQ(second.kind, StepOutcome::Kind::Block);
  EXPECT_EQ(h.files.paths_under(kStateDir + "/history").size(), 2u);
  EXPECT_FALSE(h.state.divergence_checked);
}

TEST(DivergenceGateStep, InjectedReportFailureStillBlocks) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    diverged(h);
    h.run(divergence_gate);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault&) {
    ASSERT_TRUE(h.outcome);
    EXPECT_TRUE(retry_or_block(*h.outcome));
    EXPECT_EQ(h.outcome->kind, StepOutcome::Kind::Block);
    EXPECT_NE(h.outcome->sentence.find("0-1-14..0-1-16"), std::string::npos);
    EXPECT_FALSE(h.state.divergence_checked);
  });
  EXPECT_EQ(runs, 1u);
}

}  // namespace
}  // namespace mhafb::test
