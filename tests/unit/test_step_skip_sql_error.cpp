// The opt-in skip of one failing replication event (the runbook's step 5, made explicit): bounded by
// the policy's budget, each skip recorded with its GTID (read from the new master's binlog at the
// executed position), position and error in the state file BEFORE acting (a crash after the skip
// never hides it) and in the journal; a transaction that cannot be named is never skipped.
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::string kDupError =
    "Could not execute Write_rows_v1 event on table app.orders; Duplicate entry '42' for key 'PRIMARY', "
    "Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000001, "
    "end_log_pos "
    "3120";

void sql_error(StepHarness& h, int max_skips = 2) {
  h.state = state_in(ClusterState::SlaveRejoined);
  h.state.healthy_since = kT0;
  h.config.sql_error_policy = {SqlErrorAction::Skip, max_skips};
  h.snapshot = rejoined();
  auto& rep = *h.snapshot.servers[0].replica;
  rep.sql_running = false;
  rep.seconds_behind.reset();
  rep.last_sql_errno = 1062;
  rep.last_sql_error = kDupError;
  rep.source_executed = {"mysql-bin.000001", 2941};
}

const std::string kEventAt = "SHOW BINLOG EVENTS IN 'mysql-bin.000001' FROM 2941 LIMIT 1";

// SHOW BINLOG EVENTS as MariaDB 10.11 / MySQL 8.0 return it (one row).
ResultSet binlog_event(const std::string& type, const std::string& info) {
  ResultSet rs;
  rs.columns = {"Log_name", "Pos", "Event_type", "Server_id", "End_log_pos", "Info"};
  rs.rows.push_back({"mysql-bin.000001", "2941", type, "2", "2983", info});
  return rs;
}

void script_skip(StepHarness& h, const std::string& info = "BEGIN GTID 0-2-970") {
  h.sql.expect(kNew, kEventAt, binlog_event("Gtid", info));
  h.sql.expect(kOld, "STOP SLAVE", no_rows())
      .expect(kOld, "SET GLOBAL sql_slave_skip_counter = 1", no_rows())
      .expect(kOld, "START SLAVE", no_rows());
}

TEST(SkipSqlErrorStep, RecordsThenSkipsOneEvent) {
  StepHarness h;
  sql_error(h);
  script_skip(h);
  auto o = h.run(skip_sql_error);
  h.script.verify();

  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_EQ(o.sentence, "skipped transaction 0-2-970 on 127.0.0.11 (1 of at most 2)");
  ASSERT_EQ(h.state.skipped_events.size(), 1u);
  const SkippedEvent& e = h.state.skipped_events[0];
  EXPECT_EQ(e.server, kOld);
  EXPECT_EQ(e.position, "mysql-bin.000001:2941 (GTID 0-2-970)");
  EXPECT_EQ(e.error_number, 1062);
  EXPECT_EQ(e.error, kDupError);
  EXPECT_EQ(e.at, kT0);
  EXPECT_FALSE(h.state.healthy_since) << "the stable window starts again after a skip";

  // Named first (a read on the new master), then persisted before the first statement on the replica.
  ASSERT_EQ(h.saves.size(), 1u);
  EXPECT_EQ(h.saves[0].skipped_events.size(), 1u);
  ASSERT_GE(h.script.calls().size(), 2u);
  EXPECT_EQ(h.script.calls()[0].kind, CallKind::Sql);
  EXPECT_EQ(h.script.calls()[0].text, kEventAt);
  EXPECT_EQ(h.script.calls()[1].kind, CallKind::Save);

  auto skipped = h.audit.of(AuditKind::SkippedEvent);
  ASSERT_EQ(skipped.size(), 1u) << h.audit.dump();
  EXPECT_EQ(skipped[0].priority, AuditPriority::Warning);
  EXPECT_EQ(skipped[0].fields.at("POSITION"), e.position);
  EXPECT_EQ(skipped[0].fields.at("ERRNO"), "1062");
  EXPECT_EQ(skipped[0].fields.at("GTID"), "0-2-970");
  EXPECT_NE(skipped[0].message.find("GTID 0-2-970 at 127.0.0.12's mysql-bin.000001:2941 on 127.0.0.11"),
            std::string::npos)
      << skipped[0].message;
  EXPECT_NE(skipped[0].message.find("Duplicate entry '42'"), std::string::npos);
  EXPECT_EQ(skipped[0].message.find("gtid io pos"), std::string::npos)
      << "the IO thread's position is not the failing transaction";
  EXPECT_EQ(h.audit.of(AuditKind::Sql).size(), 3u) << "every statement audited";
}

TEST(SkipSqlErrorStep, MysqlUsesTheReplicaWords) {
  StepHarness h;
  sql_error(h);
  for (auto& s : h.snapshot.servers) {
    s.flavor = Flavor::MySQL;
    s.version = kMysqlVersion;
  }
  h.sql.expect(kNew, kEventAt,
               binlog_event("Gtid", "SET @@SESSION.GTID_NEXT= '3e11fa47-71ca-11e1-9e33-c80aa9429562:23'"));
  h.sql.expect(kOld, "STOP REPLICA", no_rows())
      .expect(kOld, "SET GLOBAL sql_replica_skip_counter = 1", no_rows())
      .expect(kOld, "START REPLICA", no_rows());
  auto o = h.run(skip_sql_error);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  ASSERT_EQ(h.state.skipped_events.size(), 1u);
  EXPECT_EQ(h.state.skipped_events[0].position,
            "mysql-bin.000001:2941 (GTID 3e11fa47-71ca-11e1-9e33-c80aa9429562:23)");
}

TEST(SkipSqlErrorStep, GroupCommitIdAndDdlFormsOfTheMariadbGtidEvent) {
  for (const auto& [info, gtid] : std::vector<std::pair<std::string, std::string>>{
           {"BEGIN GTID 0-2-971 cid=88", "0-2-971"}, {"GTID 1-2-5", "1-2-5"}}) {
    SCOPED_TRACE(info);
    StepHarness h;
    sql_error(h);
    script_skip(h, info);
    auto o = h.run(skip_sql_error);
    h.script.verify();
    EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
    auto skipped = h.audit.of(AuditKind::SkippedEvent);
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_EQ(skipped[0].fields.at("GTID"), gtid);
  }
}

TEST(SkipSqlErrorStep, AnonymousTransactionIsSkippedByItsPositionAlone) {
  StepHarness h;
  sql_error(h);
  for (auto& s : h.snapshot.servers) {
    s.flavor = Flavor::MySQL;
    s.version = kMysqlVersion;
  }
  h.sql.expect(kNew, kEventAt, binlog_event("Anonymous_Gtid", "SET @@SESSION.GTID_NEXT= 'ANONYMOUS'"));
  h.sql.expect(kOld, "STOP REPLICA", no_rows())
      .expect(kOld, "SET GLOBAL sql_replica_skip_counter = 1", no_rows())
      .expect(kOld, "START REPLICA", no_rows());
  auto o = h.run(skip_sql_error);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_EQ(o.sentence, "skipped one transaction on 127.0.0.11 (1 of at most 2)");
  ASSERT_EQ(h.state.skipped_events.size(), 1u);
  EXPECT_EQ(h.state.skipped_events[0].position, "mysql-bin.000001:2941");
  auto skipped = h.audit.of(AuditKind::SkippedEvent);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].fields.count("GTID"), 0u);
}

TEST(SkipSqlErrorStep, SourceThatDoesNotAnswerRetriesWithoutRecordingOrSkipping) {
  StepHarness h;
  sql_error(h);
  h.sql.expect(
      kNew, kEventAt,
      Error{ErrorKind::Unreachable,
            "127.0.0.12:3306: connection lost: Lost connection to server during query (errno 2013)", 0});
  auto o = h.run(skip_sql_error);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("never skip what cannot be named"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.state.skipped_events.empty());
  EXPECT_TRUE(h.mutating_sql().empty());
}

TEST(SkipSqlErrorStep, PurgedSourceBinlogBlocksWithoutSkipping) {
  StepHarness h;
  sql_error(h);
  h.sql.expect(
      kNew, kEventAt,
      Error::failed("Error when executing command SHOW BINLOG EVENTS: Could not find target log", 1220));
  auto o = h.run(skip_sql_error);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("cannot identify the transaction that failed on 127.0.0.11 with error 1062"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("Could not find target log"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.state.skipped_events.empty());
  EXPECT_TRUE(h.mutating_sql().empty());
}

TEST(SkipSqlErrorStep, NoExecutedPositionBlocksWithoutSkipping) {
  StepHarness h;
  sql_error(h);
  h.snapshot.servers[0].replica->source_executed = {};
  auto o = h.run(skip_sql_error);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_TRUE(h.script.calls().empty());
  EXPECT_TRUE(h.state.skipped_events.empty());
}

TEST(SkipSqlErrorStep, NothingToSkipAnyMoreIssuesNothing) {
  StepHarness h;
  sql_error(h);
  h.snapshot = rejoined();  // the error went away (someone fixed it and started replication)
  auto o = h.run(skip_sql_error);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find("no SQL error to skip"), std::string::npos);
  EXPECT_TRUE(h.script.calls().empty());
  EXPECT_TRUE(h.state.skipped_events.empty());
}

TEST(SkipSqlErrorStep, BudgetUsedUpBlocksWithoutSkipping) {
  StepHarness h;
  sql_error(h, 1);
  h.state.skipped_events.push_back({kT0 - std::chrono::minutes(3), kOld, "mysql-bin.000001:2000", 1032, "x"});
  auto o = h.run(skip_sql_error);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("skip budget is used up"), std::string::npos);
  EXPECT_TRUE(retry_or_block(o));
  EXPECT_TRUE(h.script.calls().empty());
  EXPECT_EQ(h.state.skipped_events.size(), 1u);
}

TEST(SkipSqlErrorStep, SaveFailureSkipsNothingAndForgetsTheRecord) {
  StepHarness h;
  sql_error(h);
  h.sql.expect(kNew, kEventAt, binlog_event("Gtid", "BEGIN GTID 0-2-970"));
  h.script.inject(1, Fault{"save error", {std::nullopt, std::nullopt, Status(Error::failed("disk full"))}});
  auto o = h.run(skip_sql_error);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("cannot persist state before skipping: disk full"), std::string::npos);
  EXPECT_TRUE(h.state.skipped_events.empty());
  EXPECT_TRUE(h.sql.issued(kOld).empty()) << "never skip what could not be recorded";
  EXPECT_TRUE(h.audit.of(AuditKind::SkippedEvent).empty());
}

TEST(SkipSqlErrorStep, EachStatementFailingRetriesAndKeepsTheRecord) {
  // A statement that "failed" may still have run on the server (the reply was lost), so the record
  // of a possible skip is kept.
  const std::vector<std::pair<std::string, std::string>> stmts = {
      {"STOP SLAVE", "STOP SLAVE on 127.0.0.11 failed"},
      {"SET GLOBAL sql_slave_skip_counter = 1", "setting the skip counter on 127.0.0.11 failed"},
      {"START SLAVE", "START SLAVE on 127.0.0.11 failed"}};
  for (std::size_t k = 0; k < stmts.size(); ++k) {
    SCOPED_TRACE(stmts[k].first);
    StepHarness h;
    sql_error(h);
    h.sql.expect(kNew, kEventAt, binlog_event("Gtid", "BEGIN GTID 0-2-970"));
    for (std::size_t i = 0; i < k; ++i)
      h.sql.expect(kOld, stmts[i].first, no_rows());
    h.sql.expect(kOld, stmts[k].first,
                 Error{ErrorKind::Unreachable, "Lost connection to server during query", 2013});
    auto o = h.run(skip_sql_error);
    h.script.verify();
    EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
    EXPECT_NE(o.sentence.find(stmts[k].second), std::string::npos) << o.sentence;
    EXPECT_EQ(h.state.skipped_events.size(), 1u);
  }
}

TEST(SkipSqlErrorStep, ReRunAfterAnInterruptionSetsTheCounterAgainNeverAddsToIt) {
  // The crash came after SET sql_slave_skip_counter = 1 but before START SLAVE: the error is still
  // shown and the step runs again. The counter is assigned (still 1: one event is skipped), and the
  // same position is recorded a second time — counted against the budget, never hidden.
  StepHarness h;
  sql_error(h);
  h.sql.expect(kNew, kEventAt, binlog_event("Gtid", "BEGIN GTID 0-2-970"));
  h.sql.expect(kOld, "STOP SLAVE", no_rows())
      .expect(kOld, "SET GLOBAL sql_slave_skip_counter = 1", no_rows());
  h.sql.expect(kOld, "START SLAVE",
               Error{ErrorKind::Unreachable, "Lost connection to server during query", 2013});
  (void)h.run(skip_sql_error);
  script_skip(h);
  auto o = h.run(skip_sql_error);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  ASSERT_EQ(h.state.skipped_events.size(), 2u);
  EXPECT_EQ(h.state.skipped_events[0].position, h.state.skipped_events[1].position);
  for (const auto& t : h.mutating_sql())
    EXPECT_EQ(t.find("+"), std::string::npos) << "the counter is never incremented: " << t;
}

TEST(SkipSqlErrorStep, NoReplicationStatusRetries) {
  StepHarness h;
  sql_error(h);
  h.snapshot.servers[0].replica.reset();
  auto o = h.run(skip_sql_error);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(SkipSqlErrorStep, EveryInjectedFailureRetriesAndEveryActualSkipIsRecorded) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    sql_error(h);
    script_skip(h);
    h.run(skip_sql_error);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault& f) {
    ASSERT_TRUE(h.outcome);
    EXPECT_EQ(h.outcome->kind, StepOutcome::Kind::Retry) << describe(*h.outcome);
    EXPECT_TRUE(f.after.empty()) << "nothing after a failure";
    bool counter_sent = false;
    for (const auto& c : h.script.calls())
      if (c.kind == CallKind::Sql && c.text.find("skip_counter") != std::string::npos) counter_sent = true;
    if (counter_sent) {
      EXPECT_EQ(h.state.skipped_events.size(), 1u) << "a skip that may have happened is on record";
    }
    if (f.call.kind == CallKind::Save || (f.call.kind == CallKind::Sql && f.call.text == kEventAt)) {
      EXPECT_TRUE(h.state.skipped_events.empty()) << "nothing recorded before the transaction is named";
      EXPECT_TRUE(h.mutating_sql().empty());
    }
  });
  EXPECT_EQ(runs, 9u);  // (the binlog read + 3 statements) x 2 + save
}

}  // namespace
}  // namespace mhafb::test
