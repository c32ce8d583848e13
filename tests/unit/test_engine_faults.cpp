// The engine under two faults its steps cannot see themselves: an acknowledgement after a second
// failover (the facts kept are stale, the new flag must be detected anew), and a state file that cannot
// be written before a step that changes the cluster (the step must not run).
#include <gtest/gtest.h>

#include <memory>

#include "supervisor/cluster_supervisor.hpp"
#include "support/sim_cluster.hpp"

using namespace mhafb;
using sim::SimCluster;

namespace {

constexpr const char* kFlag = "/mha/work/app1.failover.complete";

// The simulation's files, with writes of the daemon's state file failing on demand (a full or
// read-only state directory).
class StateDirFaults final : public FilesPort {
 public:
  explicit StateDirFaults(FilesPort& inner) : inner_(inner) {}
  bool failing = false;
  Result<FileInfo> stat(const std::string& p) override { return inner_.stat(p); }
  Result<std::string> read_tail(const std::string& p, std::uint64_t n) override {
    return inner_.read_tail(p, n);
  }
  Status move(const std::string& from, const std::string& to) override { return inner_.move(from, to); }
  Status write_atomic(const std::string& p, const std::string& content, unsigned mode) override {
    if (failing && p.rfind("/state/", 0) == 0)
      return Error::failed("cannot write " + p + ": no space left on the device");
    return inner_.write_atomic(p, content, mode);
  }

 private:
  FilesPort& inner_;
};

// Ticks (advancing the simulated clock as asked) until `until` holds or `max` ticks passed.
template <class Pred>
bool tick_until(ClusterSupervisor& sup, SimCluster& sim, Pred until, int max = 400) {
  for (int i = 0; i < max; ++i) {
    auto wait = sup.tick();
    sim.replicate();
    sim.advance(wait.count() == 0 ? std::chrono::milliseconds(10) : wait);
    if (until(sup.view())) return true;
  }
  return false;
}

// MHA fails over a second time, the other way: db2 dies, db1 is promoted; a new flag and a manager log
// naming db2 as the dead master.
void second_failover_to_db1(SimCluster& sim) {
  sim.advance(std::chrono::minutes(1));
  sim.db2.up = false;
  sim.db1.replica.reset();
  sim.db1.read_only = false;
  std::string log = sim.files.at(SimCluster::kLog).first;
  for (std::size_t p = 0; (p = log.find("127.0.0.1", p)) != std::string::npos; p += 10) {
    if (log[p + 9] == '1')
      log[p + 9] = '2';
    else if (log[p + 9] == '2')
      log[p + 9] = '1';
  }
  sim.files[SimCluster::kLog] = {log, sim.now};
  sim.files[kFlag] = {"", sim.now};
}

}  // namespace

TEST(EngineFaults, AckAfterASecondFailoverDetectsItAnewInsteadOfReusingStaleFacts) {
  SimCluster sim;
  sim.failover();
  std::vector<std::string> acks;
  SupervisorEvents events;
  events.state_changed = [&](ClusterState from, ClusterState to, const std::string& reason) {
    if (from == ClusterState::Blocked) acks.push_back(std::string(to_string(to)) + ": " + reason);
  };
  ClusterSupervisor sup(SimCluster::config(), sim.ports(), "/state", events);
  ASSERT_TRUE(tick_until(sup, sim, [](const ClusterView& v) { return v.state == ClusterState::Validated; }))
      << sup.view().status;

  second_failover_to_db1(sim);
  ASSERT_TRUE(tick_until(
      sup, sim, [](const ClusterView& v) { return v.state == ClusterState::Blocked; }, 5));
  EXPECT_NE(sup.view().blocked_reason.find("a second failover happened"), std::string::npos)
      << sup.view().blocked_reason;

  ASSERT_TRUE(sup.acknowledge());
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].rfind("healthy: acknowledged: another failover happened", 0), 0u)
      << "the stale procedure is dropped: " << acks[0];
  // The next tick reads the new flag's failover: db1 (the preferred master) was promoted, so there is
  // nothing to switch back. With the old facts (old db1, new db2) the procedure would wait for db2.
  ASSERT_TRUE(tick_until(
      sup, sim, [](const ClusterView& v) { return v.state == ClusterState::Blocked; }, 5))
      << sup.view().status;
  EXPECT_NE(sup.view().blocked_reason.find("MHA failed over to the preferred master 127.0.0.11"),
            std::string::npos)
      << sup.view().blocked_reason;
  EXPECT_NE(sup.view().blocked_reason.find("127.0.0.12 must be rejoined by hand"), std::string::npos)
      << sup.view().blocked_reason;
  EXPECT_EQ(sim.switches, 0);
  EXPECT_TRUE(sim.db1.master());

  // The operator rejoins db2 by hand as it says, and acknowledges: the failover needs nothing more,
  // and the flag is not detected again (an ack must not loop through the same block).
  sim.db2.up = true;
  sim.db2.read_only = true;
  sim::Replica r;
  r.source = "127.0.0.11";
  r.io = r.sql = r.gtid = true;
  sim.db2.replica = r;
  std::size_t records = sim.audit_records.size(), changes = sim.mutating_sql.size(),
              commands = sim.commands_run.size();
  ASSERT_TRUE(sup.acknowledge());
  EXPECT_FALSE(tick_until(
      sup, sim, [](const ClusterView& v) { return v.state != ClusterState::Healthy; }, 20))
      << to_string(sup.view().state) << ": " << sup.view().status;
  bool said = false;
  for (std::size_t i = records; i < sim.audit_records.size(); ++i)
    said = said || sim.audit_records[i].message.find(
                       "MHA failed over to the preferred master 127.0.0.11 and "
                       "127.0.0.12 already replicates from it") != std::string::npos;
  EXPECT_TRUE(said) << "the detection says why nothing is done";
  EXPECT_NE(sup.view().status.find("no action: preferred master 127.0.0.11 is master"), std::string::npos)
      << sup.view().status;
  EXPECT_EQ(sim.mutating_sql.size(), changes) << "nothing done: " << sim.mutating_sql.back();
  EXPECT_EQ(sim.commands_run.size(), commands) << "nothing run: " << sim.commands_run.back();
  EXPECT_EQ(sim.switches, 0);
}

TEST(EngineFaults, AckWithTheHandledFlagKeepsTheProcedure) {
  // The flag of the failover being handled is not a new one: the ack starts the failback over.
  SimCluster sim;
  sim.failover();
  std::vector<ClusterState> after_block;
  SupervisorEvents events;
  events.state_changed = [&](ClusterState from, ClusterState to, const std::string&) {
    if (from == ClusterState::Blocked) after_block.push_back(to);
  };
  ClusterSupervisor sup(SimCluster::config(), sim.ports(), "/state", events);
  ASSERT_TRUE(tick_until(sup, sim, [](const ClusterView& v) { return v.state == ClusterState::Validated; }));
  sim.db1.replica->io = false;  // someone ran STOP SLAVE IO_THREAD: blocked
  ASSERT_TRUE(tick_until(
      sup, sim, [](const ClusterView& v) { return v.state == ClusterState::Blocked; }, 5));
  sim.db1.replica->io = true;
  ASSERT_TRUE(sup.acknowledge());
  EXPECT_EQ(after_block, std::vector<ClusterState>{ClusterState::Degraded});
  ASSERT_TRUE(tick_until(sup, sim, [](const ClusterView& v) { return v.state == ClusterState::Validated; }));
}

TEST(EngineFaults, AMutatingStepDoesNotRunWhileItsIntentCannotBePersisted) {
  SimCluster sim;
  sim.failover();
  StateDirFaults files(sim.ports().files);
  Ports base = sim.ports();
  Ports ports{base.sql, base.commands, base.remote, base.clock, files, base.audit};
  ClusterSupervisor sup(SimCluster::config(), ports, "/state");
  sup.tick();  // the failover is detected (reads only)
  ASSERT_EQ(sup.view().state, ClusterState::Degraded);

  // db1 is back by itself and writable: the next step is the fence, a step that does not check its
  // own saves.
  sim.db1.up = true;
  files.failing = true;
  std::size_t records = sim.audit_records.size();
  for (int i = 0; i < 3; ++i) {
    sup.tick();
    sim.advance(std::chrono::seconds(1));
  }
  EXPECT_TRUE(sim.mutating_sql.empty()) << sim.mutating_sql.front();
  EXPECT_FALSE(sim.db1.read_only);
  auto v = sup.view();
  EXPECT_EQ(v.state, ClusterState::Degraded);
  EXPECT_NE(v.last_error.find("cannot persist state before fence (cannot write /state/"), std::string::npos)
      << v.last_error;
  EXPECT_NE(v.last_error.find("no space left on the device); not running it"), std::string::npos)
      << v.last_error;
  EXPECT_NE(v.status.find("retrying: cannot persist state before fence"), std::string::npos) << v.status;
  bool finished = false;
  for (std::size_t i = records; i < sim.audit_records.size(); ++i) {
    const auto& r = sim.audit_records[i];
    EXPECT_NE(r.kind, AuditKind::StepStarted) << "a step was started: " << r.message;
    if (r.kind == AuditKind::StepFinished && r.message.starts_with("fence: cannot persist state"))
      finished = true;
  }
  EXPECT_TRUE(finished) << "the refusal is recorded like a step's retry";

  files.failing = false;
  sup.tick();
  ASSERT_FALSE(sim.mutating_sql.empty());
  EXPECT_EQ(sim.mutating_sql.front(), "127.0.0.11: SET GLOBAL read_only = 1");
  EXPECT_TRUE(sup.view().last_error.empty()) << sup.view().last_error;
}
