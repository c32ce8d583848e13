// Step 2, bring the old master back: check SQL first; wait for the host over SSH; start the database
// once with the configured remote command (the request persisted before acting, so a restart never
// starts it twice); fence it the moment SQL answers. SSH host-key and auth errors block.
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::vector<std::string> kStart = {"systemctl", "start", "mariadb"};
const std::string kSetRo = "SET GLOBAL read_only = 1";
const Error kRefused{ErrorKind::Unreachable,
                     "Can't connect to server on '127.0.0.11' (111 \"Connection refused\")", 2002};

void old_down(StepHarness& h) {
  h.snapshot = after_failover();
  h.state = state_in(ClusterState::Degraded);
}

TEST(BringBackOldMasterStep, AnswersAgainMeansNothingToDo) {
  StepHarness h;
  old_down(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1));
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find("old master 127.0.0.11 answers SQL again"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.remote.issued().empty()) << "no probe, no start: check first";
}

TEST(BringBackOldMasterStep, HostDownWaits) {
  StepHarness h;
  old_down(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Error::unreachable("connect to 127.0.0.11 port 22: No route to host"));
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Wait) << describe(o);
  EXPECT_NE(o.sentence.find("waiting for old master 127.0.0.11's host"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("No route to host"), std::string::npos) << o.sentence;
  EXPECT_FALSE(h.state.database_start_requested_at);
  EXPECT_TRUE(h.saves.empty());
}

TEST(BringBackOldMasterStep, HostKeyOrAuthErrorOnTheProbeBlocks) {
  for (ErrorKind kind : {ErrorKind::HostKey, ErrorKind::Auth}) {
    StepHarness h;
    old_down(h);
    h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
    h.remote.expect_probe(kOld,
                          Error{kind,
                                kind == ErrorKind::HostKey
                                    ? "the ssh-ed25519 host key of 127.0.0.11:22 does not match known_hosts"
                                    : "public key authentication as root failed",
                                0});
    auto o = h.run(bring_back_old_master);
    h.script.verify();
    EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
    EXPECT_NE(o.sentence.find("cannot log in to old master 127.0.0.11 over SSH"), std::string::npos)
        << o.sentence;
    EXPECT_NE(o.suggestion.find("never accept a changed host key blindly"), std::string::npos)
        << o.suggestion;
    EXPECT_TRUE(retry_or_block(o));
    EXPECT_FALSE(h.state.database_start_requested_at);
  }
}

TEST(BringBackOldMasterStep, StartsTheDatabaseOnceAndFencesItWhenItAnswers) {
  StepHarness h;
  old_down(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{}).expect_run(kOld, kStart, exited(0));
  // Polled with a read (not audited) until SQL answers, then fenced once.
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1));
  h.sql.expect(kOld, kSetRo, no_rows());
  auto o = h.run(bring_back_old_master);
  h.script.verify();

  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find("started the database on 127.0.0.11 with systemctl start mariadb"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("fenced it (read_only=1)"), std::string::npos) << o.sentence;
  EXPECT_EQ(h.clock.slept(), std::chrono::milliseconds(200)) << "two short polls before SQL answered";

  // The request is persisted before the command runs: a crash after it never starts it twice.
  ASSERT_EQ(h.saves.size(), 1u);
  EXPECT_EQ(h.saves[0].database_start_requested_at, kT0);
  const auto& calls = h.script.calls();
  ASSERT_GE(calls.size(), 4u);
  EXPECT_EQ(calls[2].kind, CallKind::Save);
  EXPECT_EQ(calls[3].kind, CallKind::Remote);
  EXPECT_EQ(calls[3].spec.timeout, std::chrono::milliseconds(120'000))
      << "bounded by timeouts.database_start";
  EXPECT_TRUE(calls[3].spec.mutates);
  EXPECT_EQ(calls[3].remote.user, "root");
  EXPECT_EQ(calls[3].remote.port, 22);
  EXPECT_EQ(h.state.database_start_requested_at, kT0);

  EXPECT_TRUE(h.audit.has(AuditKind::RemoteCommand, "root@127.0.0.11:22: systemctl start mariadb: exit 0"))
      << h.audit.dump();
  EXPECT_TRUE(h.audit.has(AuditKind::Sql, "127.0.0.11: SET GLOBAL read_only = 1")) << h.audit.dump();
  EXPECT_TRUE(secret_nowhere(h, kAdminPassword));
}

// The daemon died between persisting "start requested" and running the command: the next run
// cannot know whether it ran, so it starts the database again (the command is idempotent) instead
// of waiting out the start budget for a start that never happened.
TEST(BringBackOldMasterStep, AStartRequestedByAnEarlierRunIsIssuedAgain) {
  StepHarness h;
  old_down(h);
  h.state.database_start_requested_at = kT0 - std::chrono::seconds(30);
  h.engine_started = kT0 - std::chrono::seconds(10);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{}).expect_run(kOld, kStart, exited(0));
  h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1));
  h.sql.expect(kOld, kSetRo, no_rows());
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find("fenced it (read_only=1)"), std::string::npos) << o.sentence;
  EXPECT_EQ(h.state.database_start_requested_at, kT0) << "this run's request now";
}

TEST(BringBackOldMasterStep, StartedButNotAnsweringWithinTheBudgetStillReportsTheStart) {
  StepHarness h;
  old_down(h);
  h.config.timeouts.database_start = std::chrono::seconds(1);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{}).expect_run(kOld, kStart, exited(0));
  for (int i = 0; i < 10; ++i)
    h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find("does not answer SQL yet"), std::string::npos) << o.sentence;
  EXPECT_EQ(h.state.database_start_requested_at, kT0) << "decide() times the start from here";
}

TEST(BringBackOldMasterStep, AbortDuringThePollStopsPolling) {
  StepHarness h;
  old_down(h);
  h.abort = true;
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{}).expect_run(kOld, kStart, exited(0));
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_TRUE(h.mutating_sql().empty());
}

TEST(BringBackOldMasterStep, StartAlreadyRequestedIsNeverRepeated) {
  // A re-run within the same daemon run (the start command returned before SQL answered): the
  // database may be starting; an earlier run's request is the case above.
  StepHarness h;
  old_down(h);
  h.state.database_start_requested_at = kT0 - std::chrono::seconds(30);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{});
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Wait) << describe(o);
  EXPECT_NE(o.sentence.find("its database was started; waiting for SQL"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.saves.empty());
  EXPECT_EQ(h.state.database_start_requested_at, kT0 - std::chrono::seconds(30));
}

TEST(BringBackOldMasterStep, NoStartCommandConfiguredWaitsForAHuman) {
  StepHarness h;
  old_down(h);
  h.config.commands.start_database.clear();
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{});
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Wait) << describe(o);
  EXPECT_NE(o.sentence.find("no start_database command is configured"), std::string::npos) << o.sentence;
  EXPECT_FALSE(h.state.database_start_requested_at);
}

TEST(BringBackOldMasterStep, SaveFailureRetriesWithoutStartingAndForgetsTheRequest) {
  StepHarness h;
  old_down(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{});
  h.script.inject(2, Fault{"save error", {std::nullopt, std::nullopt, Status(Error::failed("disk full"))}});
  auto o = h.run(bring_back_old_master);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("cannot persist state: disk full"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.remote.issued().size() == 1u) << "only the probe: never start what could not be recorded";
  EXPECT_FALSE(h.state.database_start_requested_at)
      << "a start that never ran must not be remembered as requested (it would never be retried)";
}

TEST(BringBackOldMasterStep, StartCommandUnreachableRetriesAndForgetsTheRequest) {
  StepHarness h;
  old_down(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{})
      .expect_run(kOld, kStart, Error::unreachable("connect to 127.0.0.11 port 22: timed out"));
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("starting the database on 127.0.0.11 failed"), std::string::npos) << o.sentence;
  EXPECT_FALSE(h.state.database_start_requested_at);
  EXPECT_TRUE(h.audit.has(AuditKind::RemoteCommand, "could not run")) << h.audit.dump();
}

TEST(BringBackOldMasterStep, StartCommandHostKeyOrAuthBlocks) {
  for (ErrorKind kind : {ErrorKind::HostKey, ErrorKind::Auth}) {
    StepHarness h;
    old_down(h);
    h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
    h.remote.expect_probe(kOld, Status{}).expect_run(kOld, kStart, Error{kind, "ssh says no", 0});
    auto o = h.run(bring_back_old_master);
    h.script.verify();
    EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
    EXPECT_NE(o.sentence.find("cannot run the start command on 127.0.0.11: ssh says no"), std::string::npos)
        << o.sentence;
    EXPECT_TRUE(retry_or_block(o));
  }
}

TEST(BringBackOldMasterStep, StartCommandFailingBlocksWithItsOutput) {
  StepHarness h;
  old_down(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{})
      .expect_run(
          kOld, kStart,
          exited(
              1, "",
              "Job for mariadb.service failed because the control process exited with error code.\nSee "
              "\"systemctl status mariadb.service\" and \"journalctl -xeu mariadb.service\" for details.\n"));
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the start command systemctl start mariadb on 127.0.0.11 failed (exit 1)"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("Job for mariadb.service failed"), std::string::npos) << o.sentence;
  // Its lines joined into the one-line reason, nothing dangling at the end.
  EXPECT_NE(o.sentence.find("exited with error code. | See \"systemctl status"), std::string::npos)
      << o.sentence;
  EXPECT_EQ(o.sentence.find('\n'), std::string::npos) << o.sentence;
  EXPECT_EQ(o.sentence.back(), '.') << o.sentence;
  EXPECT_NE(o.suggestion.find("start the database on 127.0.0.11 by hand"), std::string::npos) << o.suggestion;
  EXPECT_TRUE(h.mutating_sql().empty()) << "no fence attempt on a database that failed to start";
  EXPECT_TRUE(h.audit.has(AuditKind::RemoteCommand, "exit 1")) << h.audit.dump();
}

TEST(BringBackOldMasterStep, StartCommandErrorTailKeepsTheLastLines) {
  // mariadbd's own startup errors end in the reason; a long output keeps its end, where the cause is.
  StepHarness h;
  old_down(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  std::string noise;
  for (int i = 0; i < 40; ++i)
    noise += "2026-11-24  4:20:0" + std::to_string(i % 10) + " 0 [Note] InnoDB: starting line " +
             std::to_string(i) + "\n";
  h.remote.expect_probe(kOld, Status{})
      .expect_run(
          kOld, kStart,
          exited(
              1, "",
              noise +
                  "[ERROR] Failed to open log (file './mysql-bin.999999', errno 2)\n[ERROR] Aborting\n\n"));
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("failed (exit 1): ..."), std::string::npos) << o.sentence;
  EXPECT_NE(
      o.sentence.find("[ERROR] Failed to open log (file './mysql-bin.999999', errno 2) | [ERROR] Aborting"),
      std::string::npos)
      << o.sentence;
  EXPECT_EQ(o.sentence.substr(o.sentence.size() - 9), " Aborting") << o.sentence;
  EXPECT_EQ(o.sentence.find("starting line 0 "), std::string::npos) << "the head of a long output is dropped";
}

TEST(BringBackOldMasterStep, StartCommandTimingOutBlocks) {
  StepHarness h;
  old_down(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
  h.remote.expect_probe(kOld, Status{}).expect_run(kOld, kStart, timed_out());
  auto o = h.run(bring_back_old_master);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("systemctl start mariadb"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("failed (timed out after " +
                            std::to_string(h.config.timeouts.database_start.count()) + " s)"),
            std::string::npos)
      << o.sentence;
  EXPECT_EQ(o.sentence.find("exit"), std::string::npos) << "a timeout is not an exit code: " << o.sentence;
  EXPECT_TRUE(h.audit.has(AuditKind::RemoteCommand, "timed out")) << h.audit.dump();
}

TEST(BringBackOldMasterStep, OldMasterMissingFromTheConfigBlocks) {
  StepHarness h;
  old_down(h);
  h.state.failover->old_master = "db9";
  auto o = h.run(bring_back_old_master);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(BringBackOldMasterStep, EveryInjectedFailureWaitsRetriesOrBlocksAndNeverRemembersAStartThatDidNotRun) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    old_down(h);
    h.config.timeouts.database_start = std::chrono::seconds(1);
    h.sql.expect_prefix(kOld, kFactsPrefix, kRefused);
    h.remote.expect_probe(kOld, Status{}).expect_run(kOld, kStart, exited(0));
    h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1));
    h.sql.expect(kOld, kSetRo, no_rows());
    h.run(bring_back_old_master);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault&) {
    ASSERT_TRUE(h.outcome);
    const StepOutcome& o = *h.outcome;
    EXPECT_NE(o.kind, StepOutcome::Kind::Transition) << describe(o);
    EXPECT_FALSE(o.sentence.empty());
    // The start ran when the audit holds its successful run.
    const bool started = h.audit.has(AuditKind::RemoteCommand, "systemctl start mariadb: exit 0");
    if (o.kind == StepOutcome::Kind::Progress) {
      EXPECT_TRUE(started) << describe(o);
    }
    if (o.kind == StepOutcome::Kind::Retry || o.kind == StepOutcome::Kind::Wait) {
      EXPECT_EQ(h.state.database_start_requested_at.has_value(), started) << describe(o);
    }
    if (o.kind == StepOutcome::Kind::Block) {
      EXPECT_TRUE(retry_or_block(o));
    }
  });
  EXPECT_EQ(inj.happy_calls(), 6u);  // facts, probe, save, start, facts (SQL answers), fence
  EXPECT_GE(runs, 13u);
}

}  // namespace
}  // namespace mhafb::test
