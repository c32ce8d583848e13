// The state file round-trips every field, and a torn, corrupted or foreign file is detected rather
// than trusted.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "core/persisted_state.hpp"

using namespace mhafb;

namespace {
TimePoint at(long long ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

PersistedState sample() {
  PersistedState s;
  s.cluster = "app1";
  s.state = ClusterState::Validated;
  s.state_since = at(1700000000123);
  s.mode_override = Mode::Auto;
  s.step_in_progress = "switch-back";
  s.operation_id = "00ff00ff00ff00ff";
  s.operation_kind = "failback";
  FailoverFacts f;
  f.flag_mtime = at(1700000000000);
  f.detected_at = at(1700000000500);
  f.old_master = "127.0.0.11";
  f.new_master = "127.0.0.12";
  f.outcome = "success";
  f.has_promotion = true;
  f.promotion_host = "127.0.0.12";
  f.promotion_port = 3306;
  f.promotion = {"mysql-bin.000002", 1234};
  f.latest_replica_read = {"mysql-bin.000007", 99};
  f.dead_master_ssh_reachable = false;
  s.failover = f;
  s.handled_flag_mtime = at(1700000000000);
  s.old_master_missing_since = at(1700000001000);
  s.divergence_checked = true;
  s.rejoined_at = at(1700000002000);
  s.healthy_since = at(1700000003000);
  s.switch_approved = true;
  s.approval_reason = "maintenance window \"A\" \\ done";
  s.manager_stopped = true;
  s.archived_flag_path = "/var/lib/mha-failback/history/app1.failover.complete.x";
  s.switch_started = true;
  s.switch_held_since = at(1700000003500);
  s.skipped_events.push_back(
      {at(1700000004000), "127.0.0.11", "mysql-bin.000002:77", 1062, "Duplicate entry '1'"});
  s.last_error = "none";
  return s;
}
}  // namespace

TEST(PersistedState, RoundTripsEveryField) {
  PersistedState s = sample();
  auto back = deserialize_state(serialize_state(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(serialize_state(*back), serialize_state(s));
  EXPECT_EQ(back->state, ClusterState::Validated);
  EXPECT_EQ(back->mode_override, Mode::Auto);
  ASSERT_TRUE(back->failover);
  EXPECT_EQ(back->failover->promotion, (BinlogPosition{"mysql-bin.000002", 1234}));
  EXPECT_FALSE(back->failover->dead_master_ssh_reachable);
  EXPECT_EQ(back->approval_reason, s.approval_reason);
  ASSERT_EQ(back->skipped_events.size(), 1u);
  EXPECT_EQ(back->skipped_events[0].error_number, 1062);
  EXPECT_EQ(back->healthy_since, s.healthy_since);
  EXPECT_FALSE(back->new_master_missing_since);
  EXPECT_EQ(back->switch_held_since, s.switch_held_since);
}

// The engine persists after track() only when the state compares unequal to a copy taken before:
// equality must see every change the serialised form would show, nested ones included.
TEST(PersistedState, EqualityFollowsEveryChangeTheFileWouldShow) {
  const PersistedState s = sample();
  auto back = deserialize_state(serialize_state(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);

  std::vector<std::function<void(PersistedState&)>> changes = {
      [](PersistedState& x) { x.state = ClusterState::Degraded; },
      [](PersistedState& x) { x.state_since += std::chrono::milliseconds(1); },
      [](PersistedState& x) { x.mode_override.reset(); },
      [](PersistedState& x) { x.failover->promotion.pos += 1; },
      [](PersistedState& x) { x.failover->latest_replica_read.file = "mysql-bin.000008"; },
      [](PersistedState& x) { x.failover->dead_master_ssh_reachable = true; },
      [](PersistedState& x) { x.failover->outcome = "partial"; },
      [](PersistedState& x) { x.old_master_missing_since.reset(); },
      [](PersistedState& x) { x.database_start_requested_at = at(1700000009000); },
      [](PersistedState& x) { x.new_master_missing_since = at(1700000009000); },
      [](PersistedState& x) { x.manager_restart_requested_at = at(1700000009000); },
      [](PersistedState& x) { x.switch_held_since.reset(); },
      [](PersistedState& x) { x.skipped_events[0].error_number = 1032; },
      [](PersistedState& x) { x.skipped_events.push_back(x.skipped_events[0]); },
      [](PersistedState& x) { x.blocked_from = ClusterState::Validated; },
      [](PersistedState& x) { x.last_error = "other"; },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    PersistedState changed = s;
    changes[i](changed);
    EXPECT_NE(serialize_state(changed), serialize_state(s)) << "change " << i;
    EXPECT_NE(changed, s) << "change " << i;
  }
}

TEST(PersistedState, DefaultStateRoundTrips) {
  PersistedState s;
  s.cluster = "c";
  auto back = deserialize_state(serialize_state(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->state, ClusterState::Healthy);
  EXPECT_FALSE(back->failover);
}

TEST(PersistedState, TornFileIsDetected) {
  std::string text = serialize_state(sample());
  for (std::size_t cut :
       {std::size_t{0}, std::size_t{1}, text.size() / 3, text.size() / 2, text.size() - 3}) {
    auto r = deserialize_state(text.substr(0, cut));
    EXPECT_FALSE(r) << "a file cut at " << cut << " bytes was accepted";
  }
}

TEST(PersistedState, FlippedValueFailsTheChecksum) {
  std::string text = serialize_state(sample());
  auto pos = text.find("\"validated\"");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 11, "\"healthy\"  ");
  auto r = deserialize_state(text);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("checksum"), std::string::npos) << r.error().message;
}

TEST(PersistedState, OtherFormatVersionIsRefused) {
  std::string text = serialize_state(sample());
  auto pos = text.find("\"format\": 1");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 11, "\"format\": 9");
  auto r = deserialize_state(text);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("format 9"), std::string::npos) << r.error().message;
}

TEST(PersistedState, GarbageIsRefused) {
  for (std::string junk : {"", "null", "[]", "{}", "{\"format\":1}", "\x00\xff garbage",
                           "{\"format\":1,\"checksum\":\"0\",\"body\":{}}"}) {
    EXPECT_FALSE(deserialize_state(junk)) << junk;
  }
}

TEST(PersistedState, ResetProcedureKeepsIdentityOnly) {
  PersistedState s = sample();
  s.reset_procedure();
  EXPECT_EQ(s.cluster, "app1");
  EXPECT_EQ(s.mode_override, Mode::Auto);
  EXPECT_FALSE(s.failover);
  EXPECT_FALSE(s.switch_started);
  EXPECT_FALSE(s.switch_held_since);
  EXPECT_FALSE(s.switch_approved);
  EXPECT_TRUE(s.archived_flag_path.empty());
  EXPECT_TRUE(s.skipped_events.empty());
}
