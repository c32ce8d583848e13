// The world a procedure step runs in, for unit tests: the scripted fakes, the lab's cluster
// configuration (app1: 127.0.0.11 the preferred master, 127.0.0.12 the candidate MHA promotes, as in
// tests/lab), snapshots and persisted states at each point of the procedure, result sets with the
// real column names of MariaDB 10.11 and MySQL 8.0, and the real MHA tool outputs captured in the
// lab (tests/data/mha/captured/).
#pragma once

#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/cluster_config.hpp"
#include "core/persisted_state.hpp"
#include "core/snapshot.hpp"
#include "steps/step.hpp"
#include "support/scripted_fakes.hpp"

namespace mhafb::test {

// 2026-11-24T04:16:04Z: when MHA finished the failover in the captured manager log.
inline const TimePoint kT0 = TimePoint(std::chrono::seconds(1795493764));

inline const std::string kOld = "127.0.0.11";  // the preferred master, failed over away from
inline const std::string kNew = "127.0.0.12";  // the server MHA promoted
inline const std::string kMariaVersion = "10.11.19-MariaDB-0+deb12u1-log";
inline const std::string kMysqlVersion = "8.0.36";
inline const std::string kReplPassword = "r3pl'Pa\"ss\\word";  // quotes and a backslash on purpose
inline const std::string kAdminPassword = "adm1n-S3cret";
inline const std::string kFactsPrefix = "SELECT @@GLOBAL.version";
inline const std::string kStateDir = "/var/lib/mha-failback";

ClusterConfig lab_config();

// Snapshots of one server.
ServerSnapshot maria(const std::string& host, std::uint32_t server_id, bool read_only);
ServerSnapshot down(const std::string& host);
ReplicaStatus replica_of(const std::string& source, std::int64_t lag = 0);

// What the captured manager log says about the failover (old 127.0.0.11 -> new 127.0.0.12).
FailoverFacts lab_failover();

// The snapshot right after the failover: the old master down, the new master writable; flag present.
ClusterSnapshot after_failover();
// The old master back, fenced, not replicating; the new master writable.
ClusterSnapshot old_fenced();
// The old master replicating from the new master, within the lag bound.
ClusterSnapshot rejoined(std::int64_t lag = 0);
// The roles back: 127.0.0.11 master, 127.0.0.12 its replica; the flag archived.
ClusterSnapshot switched_back();

PersistedState state_in(ClusterState s);

// Result sets as the servers return them.
ResultSet facts_rows(bool read_only, std::uint32_t server_id, const std::string& version = kMariaVersion);
// SHOW SLAVE STATUS of MariaDB 10.11 (every column, in order, as captured from a real server), with
// `overrides` applied by column name.
// std::nullopt makes a column NULL.
using Columns = std::map<std::string, std::optional<std::string>>;
ResultSet maria_slave_status(const Columns& overrides = {});
// SHOW REPLICA STATUS of MySQL 8.0.23+ (Source_/Replica_ names), same defaults.
ResultSet mysql_replica_status(const Columns& overrides = {});
ResultSet maria_gtid_rows(const std::string& binlog_pos, const std::string& binlog_state,
                          const std::string& slave_pos, const std::string& current_pos);
ResultSet master_status_rows(const std::string& file, std::uint64_t pos);

// The world of one step run. Not copyable: the StepIo it builds points into it.
struct StepHarness {
  StepHarness();
  StepHarness(const StepHarness&) = delete;
  StepHarness& operator=(const StepHarness&) = delete;

  CallScript script;
  ScriptedSql sql{script};
  ScriptedCommands commands{script};
  ScriptedRemote remote{script};
  FakeClock clock{kT0};
  MemoryFiles files{clock, script};
  RecordingAudit audit;
  ClusterConfig config;
  ClusterSnapshot snapshot;
  PersistedState state;
  std::atomic<bool> abort{false};
  std::string state_dir = kStateDir;
  TimePoint engine_started{};         // the run's start: a checkpoint older than this is an earlier run's
  std::vector<PersistedState> saves;  // the state at each io.save()
  std::optional<StepOutcome> outcome;

  StepOutcome run(StepOutcome (*step)(StepContext&), bool planning = false);

  // Everything the step said and recorded, for "the password appears nowhere" checks.
  std::string all_text() const;
  std::vector<std::string> mutating_sql(const std::string& host = {}) const;
};

// ---------------------------------------------------------------- outcome checks

std::string describe(const StepOutcome& o);
const char* kind_name(StepOutcome::Kind k);
// Retry or Block, with a non-empty sentence (and a suggestion when blocked).
::testing::AssertionResult retry_or_block(const StepOutcome& o);
// Every Sql record in the audit is for a mutating statement and no record contains `secret`.
::testing::AssertionResult secret_nowhere(const StepHarness& h, const std::string& secret);

// ---------------------------------------------------------------- captured MHA output
// (only in test executables, which know where tests/data is)
#ifdef MHAFB_TEST_DATA_DIR

// A file of tests/data/mha/captured (real output of the MHA 0.58 tools from the lab).
inline std::string captured(const std::string& name) {
  std::ifstream in(std::string(MHAFB_TEST_DATA_DIR) + "/mha/captured/" + name, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "missing captured MHA output " << name;
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The tool's exit code for a captured file (exit_codes.json).
inline int captured_exit_code(const std::string& name) {
  auto j = nlohmann::json::parse(captured("exit_codes.json"), nullptr, false);
  if (j.is_discarded() || !j.contains(name)) {
    ADD_FAILURE() << "no exit code recorded for " << name;
    return -1;
  }
  return j.at(name).get<int>();
}

// A CommandOutput as the tool produced it (the captured file is stdout+stderr combined).
inline CommandOutput captured_output(const std::string& name) {
  return exited(captured_exit_code(name), captured(name));
}

// A file of tests/data/mha/samples (printed by the real tools on throwaway servers, or derived from
// the MHA source for paths that need the full lab; see its README).
inline std::string sample(const std::string& name) {
  std::ifstream in(std::string(MHAFB_TEST_DATA_DIR) + "/mha/samples/" + name, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "missing MHA sample " << name;
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
#endif

}  // namespace mhafb::test
