// decide() on a rejoined old master whose IO thread keeps failing to connect (a wrong replication
// password: MariaDB shows Slave_IO_Running=Connecting with Last_IO_Errno 1045 and retries). The
// waiting sentence and the block after catch_up must name the error, not only "connecting".
#include <gtest/gtest.h>

#include "core/decision.hpp"

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
    c.mha.servers.push_back(s);
  }
  c.preferred_master = "127.0.0.11";
  c.timeouts.catch_up = std::chrono::seconds(15);
  return c;
}

const TimePoint kRejoined = TimePoint(std::chrono::seconds(1'700'000'000));

ClusterSnapshot snapshot() {
  ClusterSnapshot snap;
  ServerSnapshot old_master;
  old_master.hostname = "127.0.0.11";
  old_master.sql_reachable = true;
  old_master.read_only = true;
  ReplicaStatus r;
  r.source_host = "127.0.0.12";
  r.source_port = 3306;
  r.io_connecting = true;
  r.sql_running = true;
  r.last_io_errno = 1045;
  r.last_io_error =
      "error connecting to master 'repl@127.0.0.12:3306' - retry-time: 60  maximum-retries: 100000  "
      "message: Access denied for user 'repl'@'127.0.0.11' (using password: YES)";
  old_master.replica = r;
  ServerSnapshot new_master;
  new_master.hostname = "127.0.0.12";
  new_master.sql_reachable = true;
  snap.servers = {old_master, new_master};
  snap.mha.failover_complete_mtime = kRejoined - std::chrono::seconds(30);
  return snap;
}

PersistedState rejoined() {
  PersistedState s;
  s.cluster = "app1";
  s.state = ClusterState::SlaveRejoined;
  FailoverFacts f;
  f.flag_mtime = kRejoined - std::chrono::seconds(30);
  f.old_master = "127.0.0.11";
  f.new_master = "127.0.0.12";
  f.outcome = "success";
  s.failover = f;
  s.handled_flag_mtime = f.flag_mtime;
  s.divergence_checked = true;
  s.rejoined_at = kRejoined;
  return s;
}

}  // namespace

TEST(DecisionReplicationErrors, WaitingNamesTheConnectError) {
  Decision d = decide(snapshot(), config(), rejoined(), kRejoined + std::chrono::seconds(5));
  EXPECT_TRUE(d.waits()) << d.sentence;
  EXPECT_NE(d.sentence.find("IO thread connecting to 127.0.0.12, failing with error 1045: "),
            std::string::npos)
      << d.sentence;
  EXPECT_NE(d.sentence.find("Access denied"), std::string::npos) << d.sentence;
}

TEST(DecisionReplicationErrors, TheBlockAfterCatchUpNamesIt) {
  Decision d = decide(snapshot(), config(), rejoined(), kRejoined + std::chrono::seconds(20));
  ASSERT_EQ(d.transition_to, std::optional<ClusterState>(ClusterState::Blocked)) << d.sentence;
  EXPECT_NE(d.sentence.find("has not caught up"), std::string::npos) << d.sentence;
  EXPECT_NE(d.sentence.find("error 1045"), std::string::npos) << d.sentence;
}

TEST(DecisionReplicationErrors, ConnectingWithoutAnErrorSaysOnlyConnecting) {
  ClusterSnapshot snap = snapshot();
  snap.servers[0].replica->last_io_errno = 0;
  snap.servers[0].replica->last_io_error.clear();
  Decision d = decide(snap, config(), rejoined(), kRejoined + std::chrono::seconds(5));
  EXPECT_NE(d.sentence.find("IO thread connecting to 127.0.0.12 (bound"), std::string::npos) << d.sentence;
}
