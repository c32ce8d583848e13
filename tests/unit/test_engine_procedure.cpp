// The whole procedure through the engine on a simulated cluster: the happy path in approve, auto and
// observe modes, divergence, a failed switch with its undo; then the same failback with a failure
// injected at every port call in turn, and with the daemon "killed" at every port call in turn and
// restarted from its state file. Invariants checked after every tick: never two writable masters;
// a cluster left with no writable master is blocked and says so; the switch never runs twice; no
// acknowledged write is lost.
#include <gtest/gtest.h>

#include <functional>

#include <memory>

#include "supervisor/cluster_supervisor.hpp"
#include "support/sim_cluster.hpp"

using namespace mhafb;
using sim::SimCluster;

namespace {

struct Outcome {
  ClusterState state = ClusterState::Healthy;
  std::string status;
  std::string blocked_reason;
  int ticks = 0;
  int crashes = 0;
  bool left_healthy = false;
  std::vector<std::uint64_t> acked;
  std::vector<std::pair<ClusterState, ClusterState>> transitions;
};

// Drives the engine like the daemon does: tick, wait what it asks (advancing the simulated clock),
// approve the failback once validated (approve mode), write one row per tick.
using TickHook = std::function<void(SimCluster&, const ClusterView&)>;

Outcome drive(SimCluster& sim, const ClusterConfig& cfg, int max_ticks = 400, bool approve = true,
              const TickHook& each_tick = {}) {
  Outcome out;
  auto events = std::make_shared<SupervisorEvents>();
  events->state_changed = [&out](ClusterState from, ClusterState to, const std::string&) {
    out.transitions.push_back({from, to});
  };
  auto make = [&] { return std::make_unique<ClusterSupervisor>(cfg, sim.ports(), "/state", *events); };
  std::unique_ptr<ClusterSupervisor> sup;
  while (!sup) {
    try {
      sup = make();
    } catch (const sim::Crash&) {
      ++out.crashes;
    }
  }
  for (; out.ticks < max_ticks; ++out.ticks) {
    std::chrono::milliseconds wait{0};
    try {
      wait = sup->tick();
      auto v = sup->view();
      if (approve && v.state == ClusterState::Validated && v.operation.empty())
        sup->request_failback("test", [](const Status&) {});
    } catch (const sim::Crash&) {
      ++out.crashes;
      sup.reset();
      while (!sup) {
        try {
          sup = make();
        } catch (const sim::Crash&) {
          ++out.crashes;
        }
      }
      continue;
    }
    EXPECT_LE(sim.writable_masters(), 1) << "two writable masters after tick " << out.ticks;
    if (sim.write()) out.acked.push_back(sim.next_seq);
    sim.advance(wait.count() == 0 ? std::chrono::milliseconds(10) : wait);
    auto v = sup->view();
    if (each_tick) each_tick(sim, v);
    if (v.state != ClusterState::Healthy) out.left_healthy = true;
    if (v.state == ClusterState::Blocked) break;
    if (out.left_healthy && v.state == ClusterState::Healthy) break;
  }
  auto v = sup->view();
  out.state = v.state;
  out.status = v.status;
  out.blocked_reason = v.blocked_reason;
  return out;
}

bool has_all(const sim::Server& s, const std::vector<std::uint64_t>& ids) {
  for (auto id : ids)
    if (std::find(s.rows.begin(), s.rows.end(), id) == s.rows.end()) return false;
  return true;
}

void expect_failed_back(const SimCluster& sim, const Outcome& o) {
  EXPECT_EQ(o.state, ClusterState::Healthy) << o.status << " / " << o.blocked_reason;
  EXPECT_TRUE(sim.db1.master());
  ASSERT_TRUE(sim.db2.replica);
  EXPECT_EQ(sim.db2.replica->source, "127.0.0.11");
  EXPECT_TRUE(sim.db2.read_only);
  EXPECT_TRUE(sim.manager_running);
  EXPECT_EQ(sim.switches, 1);
  EXPECT_FALSE(sim.files.count("/mha/work/app1.failover.complete")) << "the flag must be archived";
  EXPECT_TRUE(has_all(sim.db1, o.acked)) << "an acknowledged write is missing on the final master";
}

}  // namespace

TEST(EngineProcedure, FailbackInApproveMode) {
  SimCluster sim;
  sim.failover();
  Outcome o = drive(sim, SimCluster::config(Mode::Approve));
  expect_failed_back(sim, o);
  std::vector<std::pair<ClusterState, ClusterState>> expected{
      {ClusterState::Healthy, ClusterState::Degraded},
      {ClusterState::Degraded, ClusterState::SlaveRejoined},
      {ClusterState::SlaveRejoined, ClusterState::Validated},
      {ClusterState::Validated, ClusterState::SwitchedBack},
      {ClusterState::SwitchedBack, ClusterState::Healthy}};
  EXPECT_EQ(o.transitions, expected);
  // The rejoin used GTID from the old master's own binlog position, never the new master's position.
  bool gtid_rejoin = false;
  for (const auto& q : sim.mutating_sql) {
    EXPECT_EQ(q.find("MASTER_LOG_FILE"), std::string::npos) << q;
    EXPECT_EQ(q.find("s3cret"), std::string::npos) << "password in the audit text: " << q;
    if (q.find("MASTER_USE_GTID=slave_pos") != std::string::npos) gtid_rejoin = true;
  }
  EXPECT_TRUE(gtid_rejoin);
  // The old master was started over SSH, fenced before the rejoin.
  auto pos = [&](const std::string& needle) {
    for (std::size_t i = 0; i < sim.mutating_sql.size(); ++i)
      if (sim.mutating_sql[i].find(needle) != std::string::npos) return static_cast<long>(i);
    return -1L;
  };
  EXPECT_GE(pos("127.0.0.11: SET GLOBAL read_only = 1"), 0);
  EXPECT_LT(pos("127.0.0.11: SET GLOBAL read_only = 1"), pos("CHANGE MASTER TO"));
  for (const auto& r : sim.audit_records)
    EXPECT_EQ(r.message.find("s3cret"), std::string::npos) << r.message;
  // Every transition belongs to an operation: the automatic recovery until the operator's failback
  // (its own id) takes over; healthy -> degraded and switched-back -> healthy included.
  std::string recovery, failback;
  for (const auto& r : sim.audit_records) {
    if (r.kind == AuditKind::Operation && r.message.rfind("failback approved", 0) == 0)
      failback = r.operation_id;
    if (r.kind != AuditKind::Transition) continue;
    EXPECT_FALSE(r.operation_id.empty()) << r.message;
    if (r.state_from == "healthy") recovery = r.operation_id;
    if (r.state_from == "degraded") {
      EXPECT_EQ(r.operation_id, recovery) << r.message;
    }
    if (r.state_from == "validated" || r.state_from == "switched-back") {
      EXPECT_EQ(r.operation_id, failback) << r.message;
    }
  }
  EXPECT_FALSE(recovery.empty());
  EXPECT_FALSE(failback.empty());
  EXPECT_NE(recovery, failback);
}

TEST(EngineProcedure, AutoModeNeedsNoApproval) {
  SimCluster sim;
  sim.failover();
  Outcome o = drive(sim, SimCluster::config(Mode::Auto), 400, /*approve=*/false);
  expect_failed_back(sim, o);
}

TEST(EngineProcedure, ApproveModeWaitsForApproval) {
  SimCluster sim;
  sim.failover();
  Outcome o = drive(sim, SimCluster::config(Mode::Approve), 60, /*approve=*/false);
  EXPECT_EQ(o.state, ClusterState::Validated);
  EXPECT_NE(o.status.find("waiting for approval"), std::string::npos) << o.status;
  EXPECT_EQ(sim.switches, 0);
  EXPECT_TRUE(sim.db2.master());
}

TEST(EngineProcedure, ObserveModeChangesNothing) {
  SimCluster sim;
  sim.failover();
  Outcome o = drive(sim, SimCluster::config(Mode::Observe), 60);
  EXPECT_TRUE(sim.mutating_sql.empty()) << sim.mutating_sql.front();
  for (const auto& c : sim.commands_run)
    EXPECT_TRUE(c.find("start-db") == std::string::npos && c.find("mgr-") == std::string::npos &&
                c.find("masterha_master_switch") == std::string::npos)
        << c;
  EXPECT_FALSE(sim.db1.up);
  EXPECT_TRUE(sim.files.count("/mha/work/app1.failover.complete"));
  EXPECT_EQ(o.state, ClusterState::Degraded);
  EXPECT_NE(o.status.find("observe mode"), std::string::npos) << o.status;
}

TEST(EngineProcedure, DivergedOldMasterIsNeverRejoined) {
  SimCluster sim;
  sim.failover(/*unshipped=*/3);
  Outcome o = drive(sim, SimCluster::config(Mode::Auto), 200, false);
  EXPECT_EQ(o.state, ClusterState::Blocked);
  EXPECT_NE(o.blocked_reason.find("3 transactions"), std::string::npos) << o.blocked_reason;
  for (const auto& q : sim.mutating_sql)
    EXPECT_EQ(q.find("CHANGE MASTER"), std::string::npos) << q;
  EXPECT_TRUE(sim.db1.read_only) << "the returned old master stays fenced";
  EXPECT_TRUE(sim.db2.master()) << "the new master keeps the master role";
  bool report = false;
  for (const auto& [path, f] : sim.files)
    if (path.find("/state/history/app1-divergence-") == 0) report = f.first.find("0-1-") != std::string::npos;
  EXPECT_TRUE(report) << "the divergence report names the extra transactions";
}

// ---------------------------------------------------------------- long updates on the current master
// MHA's online switch refuses while an update on the current master has run for 2 s or more. The
// switch waits for it (within the switch budget) and never counts a refusal as a failed switch.

struct HoldWatch {
  bool armed = false;
  TimePoint update_ends{};
  std::optional<TimePoint> switched_back_at;
  std::vector<std::string> holding_statuses;
};

TickHook long_update_when_validated(HoldWatch& w, std::chrono::seconds lasts, bool hidden) {
  return [&w, lasts, hidden](SimCluster& sim, const ClusterView& v) {
    if (!w.armed && v.state == ClusterState::Validated) {
      w.armed = true;
      w.update_ends = sim.now + lasts;
      sim.db2.long_update = std::make_pair(sim.now - std::chrono::seconds(3), w.update_ends);
      sim.db2.long_update_hidden = hidden;
    }
    if (v.status.find("holding the switch") != std::string::npos) w.holding_statuses.push_back(v.status);
    if (v.state == ClusterState::SwitchedBack && !w.switched_back_at) w.switched_back_at = sim.now;
  };
}

TEST(EngineProcedure, ALongUpdateOnTheCurrentMasterHoldsTheSwitchUntilItEnds) {
  SimCluster sim;
  sim.failover();
  HoldWatch w;
  Outcome o = drive(sim, SimCluster::config(Mode::Approve), 1000, true,
                    long_update_when_validated(w, std::chrono::seconds(20), false));
  expect_failed_back(sim, o);
  EXPECT_EQ(sim.switch_refusals, 0) << "the daemon saw the update first and never ran a switch MHA refuses";
  ASSERT_FALSE(w.holding_statuses.empty());
  EXPECT_NE(w.holding_statuses.front().find("session 77 of app: UPDATE"), std::string::npos)
      << w.holding_statuses.front();
  ASSERT_TRUE(w.switched_back_at);
  EXPECT_GE(*w.switched_back_at, w.update_ends) << "switched while the update still ran";
  for (const auto& [from, to] : o.transitions)
    EXPECT_NE(to, ClusterState::Blocked) << "a hold is not a failure";
}

TEST(EngineProcedure, AnMhaRefusalForALongUpdateIsRetriedAndChangesNothing) {
  // The update is invisible to the daemon's look (it began right after), not to MHA's.
  SimCluster sim;
  sim.failover();
  HoldWatch w;
  Outcome o = drive(sim, SimCluster::config(Mode::Approve), 1000, true,
                    long_update_when_validated(w, std::chrono::seconds(8), true));
  expect_failed_back(sim, o);
  EXPECT_GE(sim.switch_refusals, 1);
  ASSERT_TRUE(w.switched_back_at);
  EXPECT_GE(*w.switched_back_at, w.update_ends);
  bool retried = false;
  for (const auto& r : sim.audit_records)
    retried = retried || (r.kind == AuditKind::StepFinished &&
                          r.message.find("masterha_master_switch refused to start") != std::string::npos &&
                          r.message.find("it changed nothing") != std::string::npos);
  EXPECT_TRUE(retried) << "each refusal is recorded as one";
  for (const auto& [from, to] : o.transitions)
    EXPECT_NE(to, ClusterState::Blocked);
}

TEST(EngineProcedure, AnUpdateThatNeverEndsBlocksAfterTheSwitchBudgetWithTheMasterUntouched) {
  SimCluster sim;
  sim.failover();
  HoldWatch w;
  ClusterConfig cfg = SimCluster::config(Mode::Approve);
  cfg.timeouts.switch_budget = std::chrono::seconds(60);
  Outcome o = drive(sim, cfg, 2000, true, long_update_when_validated(w, std::chrono::hours(10), false));
  EXPECT_EQ(o.state, ClusterState::Blocked) << o.status;
  EXPECT_NE(o.blocked_reason.find("not switching: the switch was held for 1m0"), std::string::npos)
      << o.blocked_reason;
  EXPECT_EQ(sim.switches, 0);
  EXPECT_EQ(sim.switch_refusals, 0);
  EXPECT_TRUE(sim.db2.master()) << "the current master keeps the role, writable";
  EXPECT_TRUE(sim.files.count("/mha/work/app1.failover.complete")) << "the flag stays for MHA";
  EXPECT_TRUE(has_all(sim.db2, o.acked));
}

TEST(EngineProcedure, FailedSwitchRestoresAWritableMaster) {
  SimCluster sim;
  sim.failover();
  sim.switch_failures = 1;
  Outcome o = drive(sim, SimCluster::config(Mode::Auto), 400, false);
  EXPECT_EQ(o.state, ClusterState::Blocked);
  EXPECT_NE(o.blocked_reason.find("made writable again"), std::string::npos) << o.blocked_reason;
  EXPECT_TRUE(sim.db2.master()) << "MHA left the current master read-only; the undo must lift it";
  EXPECT_TRUE(sim.db1.read_only);
  EXPECT_TRUE(sim.files.count("/mha/work/app1.failover.complete")) << "the flag is put back";
  EXPECT_TRUE(has_all(sim.db2, o.acked));
}

TEST(EngineProcedure, FailureInjectedAtEveryCall) {
  long total = 0;
  {
    SimCluster sim;
    sim.failover();
    drive(sim, SimCluster::config(Mode::Auto), 400, false);
    total = sim.calls;
  }
  ASSERT_GT(total, 50);
  int healthy = 0, blocked = 0;
  for (long k = 0; k < total; ++k) {
    SCOPED_TRACE("failure injected at call " + std::to_string(k));
    SimCluster sim;
    sim.failover();
    sim.fail_at = k;
    Outcome o = drive(sim, SimCluster::config(Mode::Auto), 600, false);
    ASSERT_TRUE(o.state == ClusterState::Healthy || o.state == ClusterState::Blocked)
        << "stuck in " << to_string(o.state) << ": " << o.status;
    EXPECT_LE(sim.switches, 1);
    if (o.state == ClusterState::Healthy) {
      ++healthy;
      expect_failed_back(sim, o);
    } else {
      ++blocked;
      std::printf("  call %ld -> blocked: %s\n", k, o.blocked_reason.c_str());
      EXPECT_FALSE(o.blocked_reason.empty());
      if (sim.writable_masters() == 0) {
        EXPECT_NE(o.blocked_reason.find("NOT"), std::string::npos)
            << "no writable master, unexplained: " << o.blocked_reason;
      }
      EXPECT_TRUE(has_all(sim.db1.master() ? sim.db1 : sim.db2, o.acked));
    }
  }
  std::printf("failure injected at each of %ld calls: %d ended healthy (retried), %d blocked with a reason\n",
              total, healthy, blocked);
}

TEST(EngineProcedure, CrashAtEveryCallThenResume) {
  long total = 0;
  {
    SimCluster sim;
    sim.failover();
    drive(sim, SimCluster::config(Mode::Auto), 400, false);
    total = sim.calls;
  }
  for (long k = 0; k < total; ++k) {
    SCOPED_TRACE("daemon killed at call " + std::to_string(k));
    SimCluster sim;
    sim.failover();
    sim.crash_at = k;
    Outcome o = drive(sim, SimCluster::config(Mode::Auto), 600, false);
    EXPECT_EQ(o.crashes, 1);
    EXPECT_LE(sim.switches, 1) << "the switch ran twice";
    ASSERT_TRUE(o.state == ClusterState::Healthy || o.state == ClusterState::Blocked) << o.status;
    if (o.state == ClusterState::Healthy) {
      expect_failed_back(sim, o);
    } else {
      // A crash inside the switch may leave roles to inspect; it must say so and keep a writable master.
      EXPECT_EQ(sim.writable_masters(), 1) << o.blocked_reason;
      EXPECT_FALSE(o.blocked_reason.empty());
    }
  }
}
