// decide() after a restart: the state file keeps times in milliseconds, the failover flag's mtime
// has nanoseconds. The flag being handled must not look like a second failover once the state was
// written and read back (found end to end: a daemon restarted in `degraded` blocked at once).
#include <gtest/gtest.h>

#include "core/decision.hpp"
#include "core/persisted_state.hpp"

using namespace mhafb;

namespace {

ClusterConfig config() {
  ClusterConfig c;
  c.name = "app1";
  c.mha.conf_path = "/etc/mha/app1.cnf";
  c.mha.app_name = "app1";
  for (const char* h : {"127.0.0.11", "127.0.0.12"}) {
    MhaServer s;
    s.hostname = h;
    s.block = std::string("server") + (h[9] == '1' ? "1" : "2");
    c.mha.servers.push_back(s);
  }
  c.preferred_master = "127.0.0.11";
  return c;
}

// A flag written at a time with a sub-millisecond part, as file systems report it.
const TimePoint kFlag = TimePoint(std::chrono::nanoseconds(1'700'000'000'123'456'789LL));

ClusterSnapshot snapshot(TimePoint flag) {
  ClusterSnapshot snap;
  ServerSnapshot old_master;
  old_master.hostname = "127.0.0.11";
  old_master.sql_error = "cannot connect";
  ServerSnapshot new_master;
  new_master.hostname = "127.0.0.12";
  new_master.sql_reachable = true;
  new_master.flavor = Flavor::MariaDB;
  snap.servers = {old_master, new_master};
  snap.mha.failover_complete_mtime = flag;
  return snap;
}

PersistedState degraded_after_restart() {
  PersistedState s;
  s.cluster = "app1";
  s.state = ClusterState::Degraded;
  FailoverFacts f;
  f.flag_mtime = kFlag;
  f.old_master = "127.0.0.11";
  f.new_master = "127.0.0.12";
  f.outcome = "success";
  s.failover = f;
  s.handled_flag_mtime = kFlag;
  auto back = deserialize_state(serialize_state(s));
  EXPECT_TRUE(back) << back.error().message;
  return *back;
}

}  // namespace

TEST(DecisionAfterRestart, TheHandledFlagIsNotASecondFailover) {
  PersistedState st = degraded_after_restart();
  Decision d = decide(snapshot(kFlag), config(), st, kFlag + std::chrono::seconds(5));
  EXPECT_NE(d.transition_to, std::optional<ClusterState>(ClusterState::Blocked)) << d.sentence;
  EXPECT_EQ(d.step, StepId::BringBackOldMaster) << d.sentence;
}

TEST(DecisionAfterRestart, ANewerFlagStillIsOne) {
  PersistedState st = degraded_after_restart();
  Decision d =
      decide(snapshot(kFlag + std::chrono::milliseconds(1)), config(), st, kFlag + std::chrono::seconds(5));
  ASSERT_EQ(d.transition_to, std::optional<ClusterState>(ClusterState::Blocked));
  EXPECT_NE(d.sentence.find("second failover"), std::string::npos) << d.sentence;
}

TEST(DecisionAfterRestart, HealthyDoesNotDetectTheHandledFlagAgain) {
  PersistedState s;
  s.cluster = "app1";
  s.state = ClusterState::Healthy;
  s.handled_flag_mtime = kFlag;
  auto st = deserialize_state(serialize_state(s));
  ASSERT_TRUE(st);
  ClusterSnapshot snap = snapshot(kFlag);
  snap.servers[0].sql_reachable = true;  // the preferred master is master again
  snap.servers[1].read_only = true;
  Decision d = decide(snap, config(), *st, kFlag + std::chrono::seconds(5));
  EXPECT_NE(d.step, StepId::DetectFailover) << d.sentence;
  EXPECT_TRUE(d.waits()) << d.sentence;
}
