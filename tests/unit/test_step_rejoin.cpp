// Step 5, rejoin: the old master becomes a replica of the new master from the right place. MariaDB:
// gtid_slave_pos := its own gtid_binlog_pos and MASTER_USE_GTID=slave_pos; MySQL: auto-position;
// without GTIDs exactly MHA's promotion coordinates. NEVER the new master's current position (the
// runbook's data-loss bug): the step does not even talk to the new master. The replication password
// is in the statement sent, never in an audit record, a sentence or the state.
#include <gtest/gtest.h>

#include "sql/sql_quote.hpp"
#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::string kQuotedPw = quote_string(kReplPassword);  // 'r3pl\'Pa\"ss\\word'
const std::string kChangeGtid =
    "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
    "MASTER_PASSWORD=" +
    kQuotedPw + ", MASTER_USE_GTID=slave_pos";
const std::string kChangePos =
    "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
    "MASTER_PASSWORD=" +
    kQuotedPw + ", MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=2689, MASTER_USE_GTID=no";
const std::string kSetSlavePos = "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos";

void ready(StepHarness& h) {
  h.state = state_in(ClusterState::Degraded);
  h.state.divergence_checked = true;
  h.snapshot = old_fenced();
}

void no_gtids(StepHarness& h) {
  for (auto& s : h.snapshot.servers)
    s.gtid_binlog_pos = s.gtid_binlog_state = s.gtid_slave_pos = s.gtid_current_pos = "";
}

// Statements never allowed in a rejoin: anything that reads or uses the new master's current position.
void never_the_new_masters_position(const StepHarness& h) {
  EXPECT_TRUE(h.sql.issued(kNew).empty())
      << "the rejoin must not even ask the new master (SHOW MASTER STATUS)";
  for (const auto& s : h.sql.issued())
    EXPECT_EQ(s.text.find("4711"), std::string::npos)
        << "the new master's current position leaked into " << s.text;
}

TEST(RejoinStep, MariaDbUsesItsOwnBinlogPosAsSlavePosAndGtidMode) {
  StepHarness h;
  ready(h);
  h.clock.advance(std::chrono::seconds(90));
  h.state.healthy_since = kT0;  // stale memory from an earlier attempt
  h.sql.expect(kOld, "STOP SLAVE", no_rows())
      .expect(kOld, kSetSlavePos, no_rows())
      .expect(kOld, kChangeGtid, no_rows())
      .expect(kOld, "START SLAVE", no_rows());
  auto o = h.run(rejoin);
  h.script.verify();

  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::SlaveRejoined);
  EXPECT_EQ(
      o.sentence,
      "rejoined 127.0.0.11 as a replica of 127.0.0.12 using GTID (gtid_slave_pos := its gtid_binlog_pos "
      "0-1-13)");
  EXPECT_EQ(h.state.rejoined_at, kT0 + std::chrono::seconds(90));
  EXPECT_FALSE(h.state.healthy_since) << "the stable window starts after the rejoin";
  never_the_new_masters_position(h);

  auto sql = h.audit.of(AuditKind::Sql);
  ASSERT_EQ(sql.size(), 4u) << h.audit.dump();
  EXPECT_EQ(sql[2].fields.at("SQL"),
            "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
            "MASTER_PASSWORD='***', MASTER_USE_GTID=slave_pos");
  EXPECT_TRUE(secret_nowhere(h, kReplPassword));
  EXPECT_FALSE(h.audit.mentions("r3pl"));
}

TEST(RejoinStep, PositionModeUsesExactlyMhasPromotionCoordinates) {
  StepHarness h;
  ready(h);
  no_gtids(h);
  h.sql.expect(kOld, "STOP SLAVE", no_rows())
      .expect(kOld, kChangePos, no_rows())
      .expect(kOld, "START SLAVE", no_rows());
  auto o = h.run(rejoin);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_NE(o.sentence.find("using MHA's promotion coordinates mysql-bin.000001:2689"), std::string::npos)
      << o.sentence;
  never_the_new_masters_position(h);
  for (const auto& t : h.mutating_sql())
    EXPECT_EQ(t.find("gtid_slave_pos"), std::string::npos) << t;
  EXPECT_TRUE(secret_nowhere(h, kReplPassword));
}

TEST(RejoinStep, MysqlUsesAutoPositionAndTheReplicaSyntax) {
  StepHarness h;
  ready(h);
  for (auto& s : h.snapshot.servers) {
    s.flavor = Flavor::MySQL;
    s.version = kMysqlVersion;
    s.gtid_binlog_pos = s.gtid_binlog_state = s.gtid_slave_pos = s.gtid_current_pos = "";
    s.gtid_executed = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-13";
  }
  h.sql.expect(kOld, "STOP REPLICA", no_rows())
      .expect(kOld,
              "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.12', SOURCE_PORT=3306, SOURCE_USER='repl', "
              "SOURCE_PASSWORD=" +
                  kQuotedPw + ", SOURCE_AUTO_POSITION=1",
              no_rows())
      .expect(kOld, "START REPLICA", no_rows());
  auto o = h.run(rejoin);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_NE(o.sentence.find("GTID auto-position"), std::string::npos) << o.sentence;
  EXPECT_TRUE(secret_nowhere(h, kReplPassword));
}

TEST(RejoinStep, MysqlWithoutGtidsUsesThePromotionCoordinates) {
  StepHarness h;
  ready(h);
  no_gtids(h);
  for (auto& s : h.snapshot.servers) {
    s.flavor = Flavor::MySQL;
    s.version = "5.7.44-log";
  }
  h.sql.expect(kOld, "STOP SLAVE", no_rows())
      .expect(kOld,
              "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
              "MASTER_PASSWORD=" +
                  kQuotedPw +
                  ", MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=2689, MASTER_AUTO_POSITION=0",
              no_rows())
      .expect(kOld, "START SLAVE", no_rows());
  auto o = h.run(rejoin);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
}

TEST(RejoinStep, NewMasterWithAnIpIsReachedByItsIp) {
  StepHarness h;
  ready(h);
  h.config.mha.servers[1].ip = "10.1.2.12";
  h.sql.expect(kOld, "STOP SLAVE", no_rows())
      .expect(kOld, kSetSlavePos, no_rows())
      .expect_if(
          kOld, "CHANGE MASTER TO MASTER_HOST='10.1.2.12' ...",
          [](const SqlStatement& s) {
            return s.text.rfind("CHANGE MASTER TO MASTER_HOST='10.1.2.12', ", 0) == 0;
          },
          no_rows())
      .expect(kOld, "START SLAVE", no_rows());
  auto o = h.run(rejoin);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
}

TEST(RejoinStep, NoGtidsAndNoPromotionCoordinatesBlocksWithoutTouchingAnything) {
  StepHarness h;
  ready(h);
  no_gtids(h);
  h.state.failover->has_promotion = false;
  h.state.failover->promotion = {};
  auto o = h.run(rejoin);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("there is no safe place for 127.0.0.11 to start replicating from"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.suggestion.find("Statement should be: CHANGE MASTER TO"), std::string::npos) << o.suggestion;
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(RejoinStep, MissingReplicationAccountBlocks) {
  StepHarness h;
  ready(h);
  h.config.replication = {};
  auto o = h.run(rejoin);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("no replication account is configured"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(RejoinStep, AlreadyReplicatingIssuesNothing) {
  StepHarness h;
  ready(h);
  h.snapshot = rejoined(3);
  auto o = h.run(rejoin);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::SlaveRejoined);
  EXPECT_NE(o.sentence.find("127.0.0.11 already replicates from 127.0.0.12"), std::string::npos);
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(RejoinStep, ReRunAfterAnInterruptionBeforeStartSlaveFinishesTheRejoin) {
  // The crash came after CHANGE MASTER: replication is configured but was never started, nothing was
  // applied, so redoing the rejoin from the old master's own binlog position is exact.
  StepHarness h;
  ready(h);
  h.snapshot.servers[0].replica = replica_of(kNew);
  auto& rep = *h.snapshot.servers[0].replica;
  rep.io_running = rep.sql_running = false;
  rep.seconds_behind.reset();
  h.sql.expect(kOld, "STOP SLAVE", no_rows())
      .expect(kOld, kSetSlavePos, no_rows())
      .expect(kOld, kChangeGtid, no_rows())
      .expect(kOld, "START SLAVE", no_rows());
  auto o = h.run(rejoin);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  never_the_new_masters_position(h);
}

TEST(RejoinStep, ReplicaStoppedOnAnSqlErrorIsNeverRewound) {
  // The old master already applied transactions from the new master and stopped on an error (e.g. the
  // operator acknowledged a block without starting replication again). With log_slave_updates off
  // (MariaDB's default) its gtid_binlog_pos does not hold what it applied: setting gtid_slave_pos from
  // it would replay every applied transaction a second time.
  StepHarness h;
  ready(h);
  h.snapshot.servers[0].replica = replica_of(kNew);
  auto& rep = *h.snapshot.servers[0].replica;
  rep.sql_running = false;
  rep.seconds_behind.reset();
  rep.last_sql_errno = 1062;
  rep.last_sql_error =
      "Could not execute Write_rows_v1 event on table app.orders; Duplicate entry '42' for key 'PRIMARY', "
      "Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000001, "
      "end_log_pos 3120";
  // Whatever the step sends is answered (not verified): the assertions below judge it.
  for (int i = 0; i < 4; ++i)
    h.sql.expect_if(
        kOld, "any statement", [](const SqlStatement&) { return true; }, no_rows());
  auto o = h.run(rejoin);
  EXPECT_TRUE(retry_or_block(o)) << describe(o);
  for (const auto& t : h.mutating_sql()) {
    EXPECT_EQ(t.find("gtid_slave_pos"), std::string::npos) << "rewound the replica: " << t;
    EXPECT_EQ(t.find("CHANGE MASTER"), std::string::npos) << "re-pointed the replica: " << t;
  }
}

TEST(RejoinStep, PreconditionsRetryWithoutSql) {
  struct Case {
    const char* what;
    std::function<void(StepHarness&)> setup;
    const char* words;
  };
  std::vector<Case> cases = {
      {"old master down", [](StepHarness& h) { h.snapshot.servers[0] = down(kOld); },
       "old master 127.0.0.11 does not answer SQL"},
      {"gate not passed", [](StepHarness& h) { h.state.divergence_checked = false; },
       "the divergence gate has not passed for 127.0.0.11"},
      {"not fenced", [](StepHarness& h) { h.snapshot.servers[0].read_only = false; },
       "127.0.0.11 is not fenced"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    StepHarness h;
    ready(h);
    c.setup(h);
    auto o = h.run(rejoin);
    EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
    EXPECT_NE(o.sentence.find(c.words), std::string::npos) << o.sentence;
    EXPECT_TRUE(h.script.calls().empty());
  }
}

TEST(RejoinStep, EachStatementFailingRetriesNamingItAndStopsThere) {
  const std::vector<std::pair<std::string, std::string>> steps = {
      {"STOP SLAVE", "STOP SLAVE on 127.0.0.11 failed"},
      {kSetSlavePos, "setting gtid_slave_pos on 127.0.0.11"},
      {kChangeGtid, "CHANGE MASTER on 127.0.0.11 failed"},
      {"START SLAVE", "START SLAVE on 127.0.0.11 failed"}};
  for (std::size_t k = 0; k < steps.size(); ++k) {
    SCOPED_TRACE(steps[k].first);
    StepHarness h;
    ready(h);
    for (std::size_t i = 0; i < k; ++i)
      h.sql.expect(kOld, steps[i].first, no_rows());
    h.sql.expect(kOld, steps[k].first,
                 Error{ErrorKind::Failed,
                       "This operation cannot be performed as you have a running slave ''; run "
                       "STOP SLAVE '' first",
                       1198});
    auto o = h.run(rejoin);
    h.script.verify();
    EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
    EXPECT_NE(o.sentence.find(steps[k].second), std::string::npos) << o.sentence;
    EXPECT_NE(o.sentence.find("run STOP SLAVE '' first"), std::string::npos) << o.sentence;
    EXPECT_FALSE(h.state.rejoined_at);
    EXPECT_TRUE(h.audit.has(AuditKind::Sql, "failed")) << h.audit.dump();
    EXPECT_TRUE(secret_nowhere(h, kReplPassword));
  }
}

TEST(RejoinStep, EveryInjectedFailureRetriesNeverRejoinsAndNeverLeaksThePassword) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    ready(h);
    h.sql.expect(kOld, "STOP SLAVE", no_rows())
        .expect(kOld, kSetSlavePos, no_rows())
        .expect(kOld, kChangeGtid, no_rows())
        .expect(kOld, "START SLAVE", no_rows());
    h.run(rejoin);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault& f) {
    ASSERT_TRUE(h.outcome);
    EXPECT_EQ(h.outcome->kind, StepOutcome::Kind::Retry) << describe(*h.outcome);
    EXPECT_TRUE(retry_or_block(*h.outcome));
    EXPECT_FALSE(h.state.rejoined_at);
    EXPECT_TRUE(f.after.empty()) << "nothing after a failed statement";
    EXPECT_TRUE(secret_nowhere(h, kReplPassword));
    never_the_new_masters_position(h);
  });
  EXPECT_EQ(runs, 8u);
}

}  // namespace
}  // namespace mhafb::test
