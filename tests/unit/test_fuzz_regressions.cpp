// Inputs the fuzz targets (tests/fuzz) found to break a parser, kept as plain unit tests so the bug
// stays fixed in every build, with or without sanitizers and clang.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "config/daemon_config.hpp"
#include "core/persisted_state.hpp"

namespace mhafb {
namespace {

using nlohmann::json;

// The state file's envelope with a correct checksum (FNV-1a 64 of the compact body, as the file
// format defines it), so the body's fields are what gets tested, not the checksum.
std::string state_file(const json& body) {
  std::string text = body.dump();
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char sum[17];
  (void)std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(h));  // fits: 16 digits
  return json{{"format", 1}, {"checksum", sum}, {"body", body}}.dump(2);
}

json valid_body() {
  PersistedState s;
  s.cluster = "app1";
  s.state = ClusterState::Degraded;
  FailoverFacts f;
  f.old_master = "127.0.0.11";
  f.new_master = "127.0.0.12";
  f.outcome = "success";
  f.promotion = {"mysql-bin.000002", 1234};
  s.failover = f;
  s.skipped_events.push_back({TimePoint{}, "127.0.0.11", "0-2-21", 1062, "Duplicate entry"});
  return json::parse(serialize_state(s))["body"];
}

TEST(FuzzRegressions, TheValidBodyLoads) {
  auto r = deserialize_state(state_file(valid_body()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->failover->promotion.pos, 1234u);
}

// Found by fuzz_persisted_state: milliseconds beyond what system_clock's nanoseconds hold (after
// 2262-04-11 or before 1677-09-21) overflowed a signed multiplication while converting (undefined
// behaviour, and a garbage time when it wrapped). Such a file must be refused like any bad field.
TEST(FuzzRegressions, StateFileTimeBeyondTheClockRangeIsRefused) {
  for (const char* key : {"state_since", "handled_flag_mtime", "rejoined_at", "healthy_since"}) {
    for (std::int64_t ms :
         {std::int64_t{10000493800000}, std::int64_t{-10000493800000},
          std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
      json b = valid_body();
      b[key] = ms;
      auto r = deserialize_state(state_file(b));
      ASSERT_FALSE(r) << key << " = " << ms << " was accepted";
      EXPECT_EQ(r.error().kind, ErrorKind::Invalid);
    }
  }
  json b = valid_body();
  b["failover"]["flag_mtime"] = 10000493800000;  // the input the fuzzer found
  EXPECT_FALSE(deserialize_state(state_file(b)));
  b = valid_body();
  b["skipped_events"][0]["at"] = 18446744073709551615ULL;
  EXPECT_FALSE(deserialize_state(state_file(b)));
}

TEST(FuzzRegressions, StateFileTimesAtTheEdgesOfTheClockRangeLoad) {
  json b = valid_body();
  b["state_since"] = 9223372036854;  // 2262-04-11, the last whole millisecond system_clock holds
  b["handled_flag_mtime"] = -9223372036854;
  auto r = deserialize_state(state_file(b));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(r->state_since.time_since_epoch()).count(),
            9223372036854);
}

// Converting a JSON float that does not fit into an integer field is undefined behaviour too
// (nlohmann/json's get<int>() casts): a float where an integer belongs must be refused.
TEST(FuzzRegressions, StateFileFloatInAnIntegerFieldIsRefused) {
  struct Case {
    json::json_pointer where;
    json value;
  };
  for (const Case& c :
       {Case{json::json_pointer("/state_since"), 1e300}, Case{json::json_pointer("/state_since"), 1.5},
        Case{json::json_pointer("/failover/promotion_port"), 1e10},
        Case{json::json_pointer("/failover/promotion/pos"), -1.5},
        Case{json::json_pointer("/failover/promotion/pos"), 1e30},
        Case{json::json_pointer("/skipped_events/0/error_number"), -1e19}}) {
    json b = valid_body();
    b[c.where] = c.value;
    auto r = deserialize_state(state_file(b));
    EXPECT_FALSE(r) << c.where.to_string() << " = " << c.value.dump() << " was accepted";
  }
}

// Integers out of the field's range were truncated silently (promotion_port 4294970602 read as
// 3306; a negative binlog position read as a huge one). They are refused.
TEST(FuzzRegressions, StateFileIntegerOutOfTheFieldsRangeIsRefused) {
  json b = valid_body();
  b["failover"]["promotion_port"] = 4294970602LL;
  EXPECT_FALSE(deserialize_state(state_file(b)));
  b = valid_body();
  b["failover"]["promotion"]["pos"] = -1;
  EXPECT_FALSE(deserialize_state(state_file(b)));
}

// A format number that only wraps to 1 as an int (2^32 + 1) is not format 1.
TEST(FuzzRegressions, StateFileFormatThatWrapsToOneIsRefused) {
  std::string text = state_file(valid_body());
  auto pos = text.find("\"format\": 1");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 11, "\"format\": 4294967297");
  auto r = deserialize_state(text);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("4294967297"), std::string::npos) << r.error().message;
}

// Found by fuzz_daemon_config: a number too large for a double ("1E444") makes nlohmann/json throw
// out_of_range (406) while parsing, not parse_error; the loader caught only parse_error, so the
// exception escaped parse_daemon_config_text and terminated the daemon (check-config, start, reload).
TEST(FuzzRegressions, DaemonConfigNumberTooLargeForADoubleIsAnError) {
  for (const char* text : {"44440444444444E444", "{\"log_level\": 1e400}",
                           "{\"clusters\": [{\"timeouts\": {\"tool_seconds\": -1E99999}}]}",
                           "{\"clusters\": [{\"admin\": {\"password_file\": 31415e9999}}]}"}) {
    LoadedConfig c;
    ASSERT_NO_THROW(c = parse_daemon_config_text(text, "/etc/mha-failback/mha-failback.json")) << text;
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_TRUE(c.config.clusters.empty());
    // The number itself is not quoted back: where a password file belongs it may be the password.
    for (const auto& e : c.errors)
      EXPECT_EQ(e.to_string().find("31415"), std::string::npos) << e.to_string();
  }
}

}  // namespace
}  // namespace mhafb
