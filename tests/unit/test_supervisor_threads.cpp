// The supervisor's threading contract (cluster_supervisor.hpp): tick() runs on one thread (the
// daemon's strand) while the D-Bus loop reads view() and flags an abort (signal_abort()) from another.
// These tests drive a whole failback on the simulated cluster with a second thread doing that; they
// are meant for the ThreadSanitizer build (scripts/test.sh runs them under TSan), where a data race
// fails them, and they check the procedure's outcome in every build.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>

#include "supervisor/cluster_supervisor.hpp"
#include "support/sim_cluster.hpp"

using namespace mhafb;
using sim::SimCluster;

namespace {

// Ticks like the daemon's strand does until the cluster left Healthy and came back (or is blocked,
// or `max_ticks` ran). Returns the last view.
ClusterView drive(SimCluster& sim, ClusterSupervisor& sup, int max_ticks = 400) {
  bool left_healthy = false;
  for (int i = 0; i < max_ticks; ++i) {
    auto wait = sup.tick();
    EXPECT_LE(sim.writable_masters(), 1) << "two writable masters after tick " << i;
    sim.write();
    sim.advance(wait.count() == 0 ? std::chrono::milliseconds(10) : wait);
    auto v = sup.view();
    if (v.state != ClusterState::Healthy) left_healthy = true;
    if (v.state == ClusterState::Blocked || (left_healthy && v.state == ClusterState::Healthy)) break;
  }
  return sup.view();
}

}  // namespace

TEST(SupervisorThreads, ViewFromAnotherThreadWhileAFailbackRuns) {
  SimCluster sim;
  sim.failover();
  ClusterSupervisor sup(SimCluster::config(Mode::Auto), sim.ports(), "/state");

  std::atomic<bool> done{false};
  std::atomic<long> reads{0};
  std::set<ClusterState> seen;  // written by the reader only, read after join
  std::thread reader([&] {
    while (!done.load()) {
      ClusterView v = sup.view();
      EXPECT_EQ(v.name, "app1");
      EXPECT_EQ(v.preferred_master, "127.0.0.11");
      seen.insert(v.state);
      ++reads;
      std::this_thread::yield();
    }
  });
  ClusterView last = drive(sim, sup);
  // A loaded machine may not have scheduled the reader yet: it reads at least once more after the
  // procedure ended, so it sees the final state whatever the scheduling was.
  const long before_end = reads.load();
  while (reads.load() < before_end + 2)
    std::this_thread::yield();
  done = true;
  reader.join();

  EXPECT_EQ(last.state, ClusterState::Healthy) << last.status << " / " << last.blocked_reason;
  EXPECT_EQ(sim.switches, 1);
  EXPECT_TRUE(sim.db1.master());
  EXPECT_GT(reads.load(), 0);
  EXPECT_TRUE(seen.count(ClusterState::Healthy) || seen.count(ClusterState::Degraded)) << seen.size();
}

// An abort from the loop thread while the strand ticks, as SupervisedCluster::abort() does it: the
// loop only raises the flag (signal_abort()), the strand withdraws the operation (request_abort())
// between ticks. Under TSan a state change from the loop thread would be reported here.
TEST(SupervisorThreads, AbortFromAnotherThreadWhileAFailbackRuns) {
  SimCluster sim;
  sim.failover();
  ClusterSupervisor sup(SimCluster::config(Mode::Approve), sim.ports(), "/state");

  std::atomic<bool> approved{false};
  std::atomic<bool> done{false};
  std::atomic<int> aborts{0};
  std::thread operator_thread([&] {
    while (!approved.load() && !done.load())
      std::this_thread::yield();
    while (!done.load()) {
      sup.signal_abort();
      aborts.fetch_add(1);
      std::this_thread::yield();
    }
  });
  int applied = 0;
  bool left_healthy = false;
  for (int i = 0; i < 400; ++i) {
    // Once approved, give the operator's thread its turn before the next tick (a loaded machine
    // may not schedule it otherwise): the abort must race with real ticks.
    while (approved.load() && applied == 0 && aborts.load() == 0)
      std::this_thread::yield();
    if (aborts.exchange(0) > 0) {
      (void)sup.request_abort();
      ++applied;
    }
    auto wait = sup.tick();
    EXPECT_LE(sim.writable_masters(), 1) << "two writable masters after tick " << i;
    sim.write();
    sim.advance(wait.count() == 0 ? std::chrono::milliseconds(10) : wait);
    auto v = sup.view();
    if (v.state == ClusterState::Validated && v.operation.empty() && !approved) {
      sup.request_failback("test", [](const Status&) {});
      approved = true;
    }
    if (v.state != ClusterState::Healthy) left_healthy = true;
    if (v.state == ClusterState::Blocked || (left_healthy && v.state == ClusterState::Healthy)) break;
  }
  done = true;
  operator_thread.join();

  ClusterView last = sup.view();
  EXPECT_TRUE(approved.load());
  EXPECT_GT(applied, 0);
  EXPECT_LE(sim.switches, 1);
  EXPECT_NE(last.state, ClusterState::Blocked) << last.blocked_reason;
  EXPECT_EQ(sim.writable_masters(), 1);
  // Withdrawn before it could run: still validated, no operation left behind.
  if (sim.switches == 0) {
    EXPECT_EQ(last.state, ClusterState::Validated);
    EXPECT_EQ(last.operation, "");
  }
}
