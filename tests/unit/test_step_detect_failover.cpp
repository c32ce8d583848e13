// Step 1, detect the failover, on the real manager logs captured in the lab: who failed, who was
// promoted, success or partial, the promotion coordinates and whether the dead master was reachable
// over SSH. Reads only: no SQL, no command. Without a readable log the roles come from the servers.
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const TimePoint kHandledBefore = kT0 - std::chrono::hours(24);

void healthy_with_new_flag(StepHarness& h) {
  h.state = state_in(ClusterState::Healthy);
  h.state.handled_flag_mtime = kHandledBefore;
  h.snapshot = after_failover();
}

TEST(DetectFailoverStep, ReadsTheCapturedManagerLogOfASuccessfulFailover) {
  StepHarness h;
  healthy_with_new_flag(h);
  h.files.put(h.config.mha.manager_log, captured("manager_log.failover-ok.txt"));
  auto o = h.run(detect_failover);
  h.script.verify();

  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::Degraded);
  EXPECT_EQ(o.sentence,
            "failover detected (success): MHA promoted 127.0.0.12 after 127.0.0.11 failed; promotion "
            "coordinates mysql-bin.000001:2689");
  ASSERT_TRUE(h.state.failover);
  const FailoverFacts& f = *h.state.failover;
  EXPECT_EQ(f.old_master, kOld);
  EXPECT_EQ(f.new_master, kNew);
  EXPECT_EQ(f.outcome, "success");
  EXPECT_TRUE(f.has_promotion);
  EXPECT_EQ(f.promotion_host, kNew);
  EXPECT_EQ(f.promotion_port, 3306);
  EXPECT_EQ(f.promotion, (BinlogPosition{"mysql-bin.000001", 2689}));
  EXPECT_EQ(f.latest_replica_read, (BinlogPosition{"mysql-bin.000001", 2689}));
  EXPECT_TRUE(f.dead_master_ssh_reachable);
  EXPECT_EQ(f.flag_mtime, kT0);
  EXPECT_EQ(f.detected_at, kT0);
  EXPECT_EQ(h.state.handled_flag_mtime, kT0) << "this flag is now being handled";

  // Reads only: the manager log, nothing else.
  ASSERT_EQ(h.script.calls().size(), 1u);
  EXPECT_EQ(h.script.calls()[0].kind, CallKind::File);
  EXPECT_EQ(h.script.calls()[0].target, h.config.mha.manager_log);
  EXPECT_FALSE(h.audit.has(AuditKind::Warning, "cannot read"));
}

TEST(DetectFailoverStep, DeadMasterNotSshReachableIsRecordedWithTheLossWarning) {
  StepHarness h;
  healthy_with_new_flag(h);
  h.files.put(h.config.mha.manager_log, captured("manager_log.failover-dead-master-ssh-unreachable.txt"));
  auto o = h.run(detect_failover);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  ASSERT_TRUE(h.state.failover);
  const FailoverFacts& f = *h.state.failover;
  EXPECT_FALSE(f.dead_master_ssh_reachable);
  EXPECT_EQ(f.latest_replica_read, (BinlogPosition{"mysql-bin.000003", 342}));
  EXPECT_EQ(f.promotion, (BinlogPosition{"mysql-bin.000001", 2689}));
  EXPECT_EQ(f.new_master, kNew);
  EXPECT_EQ(f.old_master, kOld);
  EXPECT_TRUE(h.audit.has(AuditKind::Warning, "were lost")) << h.audit.dump();
}

TEST(DetectFailoverStep, PartialFailoverAndHostnamesThatDifferFromIps) {
  // The config names servers db1/db2/db3 with ip= lines; the log prints "db2(127.0.0.12:3306)".
  StepHarness h;
  healthy_with_new_flag(h);
  h.config.mha.servers.clear();
  for (auto [name, ip] :
       {std::pair{"db1", "127.0.0.11"}, std::pair{"db2", "127.0.0.12"}, std::pair{"db3", "127.0.0.13"}}) {
    MhaServer s;
    s.block = std::string("server") + name[2];
    s.hostname = name;
    s.ip = ip;
    h.config.mha.servers.push_back(s);
  }
  h.config.preferred_master = "db1";
  h.snapshot.servers = {down("db1"), maria("db2", 2, false), maria("db3", 3, true)};
  h.files.put(h.config.mha.manager_log, sample("derived-manager_log.failover_ssh_unreachable_partial.log"));
  auto o = h.run(detect_failover);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_NE(o.sentence.find("failover detected (partial)"), std::string::npos) << o.sentence;
  ASSERT_TRUE(h.state.failover);
  EXPECT_EQ(h.state.failover->outcome, "partial") << "decide() blocks on it; the step only records it";
  EXPECT_EQ(h.state.failover->old_master, "db1");
  EXPECT_EQ(h.state.failover->new_master, "db2");
  EXPECT_FALSE(h.state.failover->dead_master_ssh_reachable);
}

TEST(DetectFailoverStep, UnreadableLogFallsBackToTheServersAndWarns) {
  StepHarness h;
  healthy_with_new_flag(h);  // no manager log file at all
  auto o = h.run(detect_failover);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.sentence, "failover detected (unknown): MHA promoted 127.0.0.12 after 127.0.0.11 failed");
  ASSERT_TRUE(h.state.failover);
  EXPECT_EQ(h.state.failover->new_master, kNew) << "the only writable, unreplicated server";
  EXPECT_EQ(h.state.failover->old_master, kOld) << "the preferred master";
  EXPECT_FALSE(h.state.failover->has_promotion);
  EXPECT_TRUE(h.state.failover->latest_replica_read.empty())
      << "without the log the position-mode divergence gate must have nothing to trust";
  EXPECT_TRUE(h.audit.has(AuditKind::Warning, "cannot read the manager log /var/log/mha/app1/manager.log"))
      << h.audit.dump();
}

TEST(DetectFailoverStep, NoManagerLogConfiguredReadsNothing) {
  StepHarness h;
  healthy_with_new_flag(h);
  h.config.mha.manager_log.clear();
  auto o = h.run(detect_failover);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_TRUE(h.script.calls().empty());
  EXPECT_TRUE(h.audit.of(AuditKind::Warning).empty()) << h.audit.dump();
  EXPECT_EQ(h.state.failover->new_master, kNew);
}

TEST(DetectFailoverStep, LogWithoutAFailoverIsUnknownOutcome) {
  StepHarness h;
  healthy_with_new_flag(h);
  h.files.put(h.config.mha.manager_log, captured("manager_log.monitoring-then-stopped.txt"));
  auto o = h.run(detect_failover);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(h.state.failover->outcome, "unknown");
  EXPECT_FALSE(h.state.failover->has_promotion);
}

TEST(DetectFailoverStep, FlagGoneAgainWaitsAndChangesNothing) {
  StepHarness h;
  healthy_with_new_flag(h);
  h.snapshot.mha.failover_complete_mtime.reset();
  auto o = h.run(detect_failover);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Wait) << describe(o);
  EXPECT_NE(o.sentence.find("flag is gone"), std::string::npos) << o.sentence;
  EXPECT_FALSE(h.state.failover);
  EXPECT_EQ(h.state.handled_flag_mtime, kHandledBefore);
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(DetectFailoverStep, NoWayToTellTheNewMasterBlocks) {
  StepHarness h;
  healthy_with_new_flag(h);
  h.snapshot.servers = {maria(kOld, 1, false), maria(kNew, 2, false)};  // two writable masters, no log
  auto o = h.run(detect_failover);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("neither the manager log nor the servers tell which server MHA promoted"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.suggestion.find("exactly one server is writable"), std::string::npos) << o.suggestion;
  EXPECT_EQ(h.state.handled_flag_mtime, kT0) << "blocked once for this flag, not again every tick";
  EXPECT_FALSE(h.state.failover);
}

TEST(DetectFailoverStep, PromotedServerEqualToTheFailedOneBlocks) {
  // A flag, no log, and the preferred master is the only master: the roles make no sense.
  StepHarness h;
  healthy_with_new_flag(h);
  h.snapshot.servers = {maria(kOld, 1, false), down(kNew)};
  auto o = h.run(detect_failover);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("roles are unclear"), std::string::npos) << o.sentence;
  EXPECT_FALSE(h.state.failover);
}

TEST(DetectFailoverStep, FailoverToThePreferredMasterBlocksWithARejoinHint) {
  StepHarness h;
  healthy_with_new_flag(h);
  h.config.preferred_master = kNew;
  h.files.put(h.config.mha.manager_log, captured("manager_log.failover-ok.txt"));
  auto o = h.run(detect_failover);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("failed over to the preferred master 127.0.0.12"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.suggestion.find("rejoin 127.0.0.11 as a replica of 127.0.0.12"), std::string::npos)
      << o.suggestion;
  EXPECT_FALSE(h.state.failover);
}

TEST(DetectFailoverStep, ReRunGivesTheSameFacts) {
  // A restart before the transition was persisted re-runs the step: same facts, nothing done twice.
  StepHarness a, b;
  for (StepHarness* h : {&a, &b}) {
    healthy_with_new_flag(*h);
    h->files.put(h->config.mha.manager_log, captured("manager_log.failover-ok.txt"));
  }
  auto first = a.run(detect_failover);
  b.state = a.state;  // the in-memory state after the first run
  b.state.failover.reset();
  auto second = b.run(detect_failover);
  EXPECT_EQ(describe(first), describe(second));
  EXPECT_EQ(serialize_state(a.state), serialize_state(b.state));
}

TEST(DetectFailoverStep, InjectedLogFailureFallsBackToTheServersNeverToAWrongMaster) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    healthy_with_new_flag(h);
    h.files.put(h.config.mha.manager_log, captured("manager_log.failover-ok.txt"));
    h.run(detect_failover);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault&) {
    ASSERT_TRUE(h.outcome);
    // Designed: the log is optional evidence; the servers still name the new master. What must not
    // happen is trusting coordinates that were never read.
    ASSERT_EQ(h.outcome->kind, StepOutcome::Kind::Transition) << describe(*h.outcome);
    ASSERT_TRUE(h.state.failover);
    EXPECT_EQ(h.state.failover->new_master, kNew);
    EXPECT_FALSE(h.state.failover->has_promotion);
    EXPECT_EQ(h.state.failover->outcome, "unknown");
    EXPECT_TRUE(h.audit.has(AuditKind::Warning, "cannot read the manager log")) << h.audit.dump();
  });
  EXPECT_EQ(runs, 1u);
}

}  // namespace
}  // namespace mhafb::test
