// Step 8, restore MHA after the switch back: start the manager once (the request persisted before the
// command, so a restart never starts a second manager), wait for masterha_check_status to report
// PING_OK, then masterha_check_repl once more -> healthy. Real tool output from the lab.
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::vector<std::string> kStatus = {"masterha_check_status", "--conf=/etc/mha/app1.cnf"};
const std::vector<std::string> kRepl = {"masterha_check_repl", "--conf=/etc/mha/app1.cnf"};
const std::vector<std::string> kStart = {"systemctl", "start", "mha-manager@app1.service"};

void switched(StepHarness& h) {
  h.state = state_in(ClusterState::SwitchedBack);
  h.snapshot = switched_back();
}

CommandOutput initializing() {
  return exited(10, sample("tool-check_status.rc10.initializing_monitor.txt"));
}

TEST(RestoreStep, StartsTheManagerOnceWithTheRequestPersistedFirst) {
  StepHarness h;
  switched(h);
  h.commands.expect(kStatus, captured_output("masterha_check_status.not-running.txt"))
      .expect(kStart, exited(0));
  auto o = h.run(restore);
  h.script.verify();

  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_EQ(o.sentence, "started the MHA manager with systemctl start mha-manager@app1.service");
  EXPECT_EQ(h.state.manager_restart_requested_at, kT0);
  ASSERT_EQ(h.saves.size(), 1u);
  EXPECT_EQ(h.saves[0].manager_restart_requested_at, kT0);
  const auto& calls = h.script.calls();
  ASSERT_EQ(calls.size(), 4u);  // stat of the flag (absent), check_status, save, start
  EXPECT_EQ(calls[2].kind, CallKind::Save) << "persisted before the start command";
  EXPECT_TRUE(calls[3].spec.mutates);
  EXPECT_TRUE(h.audit.has(AuditKind::Command, "systemctl start mha-manager@app1.service: exit 0"))
      << h.audit.dump();
}

TEST(RestoreStep, ALeftoverFlagOfTheHandledFailoverIsArchivedBeforeTheManagerStarts) {
  // Someone switched back by hand and left the flag: the restarted manager would refuse to fail over.
  StepHarness h;
  switched(h);
  const std::string flag = "/var/lib/mha/app1/app1.failover.complete";
  h.files.put(flag, "", kT0);
  h.commands.expect(kStatus, captured_output("masterha_check_status.not-running.txt"))
      .expect(kStart, exited(0));
  auto o = h.run(restore);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_FALSE(h.files.exists(flag));
  EXPECT_EQ(h.files.paths_under(kStateDir + "/history").size(), 1u);
  EXPECT_TRUE(h.audit.has(AuditKind::StepFinished, "archived the leftover failover flag")) << h.audit.dump();
}

TEST(RestoreStep, ANewerFlagIsAnotherFailoverAndBlocksWithoutStartingAnything) {
  StepHarness h;
  switched(h);
  const std::string flag = "/var/lib/mha/app1/app1.failover.complete";
  h.files.put(flag, "", kT0 + std::chrono::minutes(7));
  auto o = h.run(restore);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("MHA failed over again after the master role came back"), std::string::npos);
  EXPECT_TRUE(h.files.exists(flag));
  EXPECT_TRUE(h.commands.issued().empty());
}

// The daemon died between persisting "manager restart requested" and the start: the next run checks
// again and starts the manager when it does not run, instead of waiting for a PING_OK that never comes.
TEST(RestoreStep, ARestartRequestedByAnEarlierRunIsCheckedAndIssuedAgain) {
  StepHarness h;
  switched(h);
  h.state.manager_restart_requested_at = kT0 - std::chrono::seconds(30);
  h.engine_started = kT0 - std::chrono::seconds(10);
  h.commands.expect(kStatus, captured_output("masterha_check_status.not-running.txt"))
      .expect(kStart, exited(0));
  auto o = h.run(restore);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_EQ(o.sentence, "started the MHA manager with systemctl start mha-manager@app1.service");
  EXPECT_EQ(h.state.manager_restart_requested_at, kT0);
}

TEST(RestoreStep, ReRunWaitsWhileTheManagerInitialisesAndNeverStartsASecondOne) {
  StepHarness h;
  switched(h);
  h.state.manager_restart_requested_at = kT0 - std::chrono::seconds(5);
  h.commands.expect(kStatus, initializing());
  auto o = h.run(restore);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Wait) << describe(o);
  EXPECT_NE(o.sentence.find("waiting for the MHA manager to report PING_OK"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("INITIALIZING_MONITOR"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.saves.empty());
}

TEST(RestoreStep, PingOkAndReplicationOkMeanHealthy) {
  StepHarness h;
  switched(h);
  h.state.manager_restart_requested_at = kT0 - std::chrono::seconds(20);
  h.commands.expect(kStatus, captured_output("masterha_check_status.running-ping-ok.txt"))
      .expect(kRepl, captured_output("masterha_check_repl.ok.txt"));
  auto o = h.run(restore);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::Healthy);
  EXPECT_EQ(o.sentence,
            "failback complete: 127.0.0.11 is master, the MHA manager reports PING_OK and replication is OK");
  EXPECT_TRUE(h.sql.issued().empty());
}

TEST(RestoreStep, ManagerAlreadyRunningIsNotStartedAgain) {
  StepHarness h;
  switched(h);
  h.commands.expect(kStatus, captured_output("masterha_check_status.running-ping-ok.txt"))
      .expect(kStatus, captured_output("masterha_check_status.running-ping-ok.txt"))
      .expect(kRepl, captured_output("masterha_check_repl.ok.txt"));
  auto o = h.run(restore);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  for (const auto& spec : h.commands.issued())
    EXPECT_NE(spec.argv, kStart);
}

TEST(RestoreStep, ManagerStartFailingBlocks) {
  struct Case {
    const char* what;
    Result<CommandOutput> result;
    const char* words;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"exit 1",
       exited(1, "", "Job for mha-manager@app1.service failed because the control process exited.\n"),
       "exit 1: Job for mha-manager@app1.service failed"});
  cases.push_back({"spawn error", Error::failed("cannot start systemctl: No such file or directory"),
                   "No such file or directory"});
  cases.push_back({"timed out", timed_out(), "failed"});
  for (auto& c : cases) {
    SCOPED_TRACE(c.what);
    StepHarness h;
    switched(h);
    h.commands.expect(kStatus, captured_output("masterha_check_status.not-running.txt"))
        .expect(kStart, c.result);
    auto o = h.run(restore);
    h.script.verify();
    ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
    EXPECT_NE(
        o.sentence.find("starting the MHA manager with systemctl start mha-manager@app1.service failed"),
        std::string::npos)
        << o.sentence;
    EXPECT_NE(o.sentence.find(c.words), std::string::npos) << o.sentence;
    EXPECT_NE(o.suggestion.find("start the MHA manager by hand"), std::string::npos);
  }
}

TEST(RestoreStep, SaveFailureStartsNothingAndForgetsTheRequest) {
  StepHarness h;
  switched(h);
  h.commands.expect(kStatus, captured_output("masterha_check_status.not-running.txt"));
  // calls: stat of the flag, status, save <- this one fails
  h.script.inject(2, Fault{"save error", {std::nullopt, std::nullopt, Status(Error::failed("disk full"))}});
  auto o = h.run(restore);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("cannot persist state: disk full"), std::string::npos);
  EXPECT_FALSE(h.state.manager_restart_requested_at);
  EXPECT_EQ(h.commands.issued().size(), 1u);
}

TEST(RestoreStep, ChecksThatCannotRunAreRetried) {
  for (int which : {0, 1}) {
    SCOPED_TRACE(which == 0 ? "check_status" : "check_repl");
    StepHarness h;
    switched(h);
    h.state.manager_restart_requested_at = kT0 - std::chrono::seconds(20);
    Error spawn = Error::failed("cannot start: No such file or directory");
    if (which == 0) {
      h.commands.expect(kStatus, spawn);
    } else {
      h.commands.expect(kStatus, captured_output("masterha_check_status.running-ping-ok.txt"))
          .expect(kRepl, spawn);
    }
    auto o = h.run(restore);
    h.script.verify();
    EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
    EXPECT_NE(o.sentence.find("could not run"), std::string::npos) << o.sentence;
  }
}

TEST(RestoreStep, ReplicationNotOkAfterTheSwitchBlocks) {
  StepHarness h;
  switched(h);
  h.state.manager_restart_requested_at = kT0 - std::chrono::seconds(20);
  h.commands.expect(kStatus, captured_output("masterha_check_status.running-ping-ok.txt"))
      .expect(kRepl, captured_output("masterha_check_repl.not-ok-old-master-not-replicating.txt"));
  auto o = h.run(restore);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("after the switch back, masterha_check_repl failed"), std::string::npos)
      << o.sentence;
}

TEST(RestoreStep, FailoverRunningIsNotPingOk) {
  StepHarness h;
  switched(h);
  h.state.manager_restart_requested_at = kT0 - std::chrono::seconds(20);
  h.commands.expect(kStatus, captured_output("masterha_check_status.failover-running.txt"));
  auto o = h.run(restore);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Wait) << describe(o);
  EXPECT_NE(o.sentence.find("FAILOVER_RUNNING"), std::string::npos) << o.sentence;
}

TEST(RestoreStep, EveryInjectedFailureBeforeTheStartNeverReachesHealthy) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    switched(h);
    h.commands.expect(kStatus, captured_output("masterha_check_status.not-running.txt"))
        .expect(kStart, exited(0));
    h.run(restore);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault&) {
    ASSERT_TRUE(h.outcome);
    const StepOutcome& o = *h.outcome;
    EXPECT_NE(o.kind, StepOutcome::Kind::Transition) << describe(o);
    EXPECT_FALSE(o.sentence.empty());
    const bool started = h.audit.has(AuditKind::Command, "systemctl start mha-manager@app1.service: exit 0");
    if (o.kind == StepOutcome::Kind::Retry) {
      EXPECT_EQ(h.state.manager_restart_requested_at.has_value(), started) << describe(o);
    }
    if (o.kind == StepOutcome::Kind::Progress) {
      EXPECT_TRUE(started) << describe(o);
    }
    if (o.kind == StepOutcome::Kind::Block) {
      EXPECT_TRUE(retry_or_block(o));
    }
  });
  EXPECT_EQ(runs, 8u);  // stat of the flag, status x3, save, start x3
}

TEST(RestoreStep, EveryInjectedFailureAfterTheStartWaitsRetriesOrBlocks) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    switched(h);
    h.state.manager_restart_requested_at = kT0 - std::chrono::seconds(20);
    h.commands.expect(kStatus, captured_output("masterha_check_status.running-ping-ok.txt"))
        .expect(kRepl, captured_output("masterha_check_repl.ok.txt"));
    h.run(restore);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault&) {
    ASSERT_TRUE(h.outcome);
    const StepOutcome& o = *h.outcome;
    EXPECT_TRUE(o.kind == StepOutcome::Kind::Wait || retry_or_block(o)) << describe(o);
    EXPECT_TRUE(h.saves.empty());
  });
  EXPECT_EQ(runs, 6u);
}

}  // namespace
}  // namespace mhafb::test
