// The lab cluster as data: configuration, snapshots, states and the servers' result sets.
#include "support/step_harness.hpp"

#include "sql/sql_quote.hpp"

namespace mhafb::test {

ClusterConfig lab_config() {
  ClusterConfig c;
  c.name = "app1";
  c.source = "/etc/mha-failback/config.json: clusters[0]";
  c.mode = Mode::Approve;
  c.preferred_master = kOld;
  c.mha.conf_path = "/etc/mha/app1.cnf";
  c.mha.app_name = "app1";
  c.mha.manager_workdir = "/var/lib/mha/app1";
  c.mha.manager_log = "/var/log/mha/app1/manager.log";
  c.mha.user = "mhaadmin";
  c.mha.password = kAdminPassword;
  c.mha.repl_user = "repl";
  c.mha.repl_password = kReplPassword;
  for (const auto& [block, host] : {std::pair{"server1", kOld}, std::pair{"server2", kNew}}) {
    MhaServer s;
    s.block = block;
    s.hostname = host;
    s.port = 3306;
    s.ssh_port = 22;
    s.ssh_user = "root";
    s.candidate_master = true;
    c.mha.servers.push_back(s);
  }
  c.admin = {"mhaadmin", {kAdminPassword, "password in /etc/mha/app1.cnf [server default]"}};
  c.replication = {"repl", {kReplPassword, "repl_password in /etc/mha/app1.cnf [server default]"}};
  c.ssh.user = "root";
  c.commands.start_database = {"systemctl", "start", "mariadb"};
  c.commands.manager_start = {"systemctl", "start", "mha-manager@app1.service"};
  c.commands.manager_stop = {};  // masterha_stop --conf=...
  return c;
}

ServerSnapshot maria(const std::string& host, std::uint32_t server_id, bool read_only) {
  ServerSnapshot s;
  s.hostname = host;
  s.port = 3306;
  s.sql_reachable = true;
  s.version = kMariaVersion;
  s.flavor = Flavor::MariaDB;
  s.server_id = server_id;
  s.read_only = read_only;
  s.log_bin = true;
  if (host == kOld) {
    // Its own 13 transactions; the binlog rotated when it restarted.
    s.gtid_binlog_pos = "0-1-13";
    s.gtid_binlog_state = "0-1-13";
    s.gtid_current_pos = "0-1-13";
    s.binlog_end = {"mysql-bin.000002", 385};
  } else {
    // The old master's 13 (log_slave_updates) and 7 of its own since the failover.
    s.gtid_binlog_pos = "0-2-20";
    s.gtid_binlog_state = "0-1-13,0-2-20";
    s.gtid_slave_pos = "0-1-13";
    s.gtid_current_pos = "0-2-20";
    s.binlog_end = {"mysql-bin.000001", 4711};
  }
  return s;
}

ServerSnapshot down(const std::string& host) {
  ServerSnapshot s;
  s.hostname = host;
  s.port = 3306;
  s.sql_reachable = false;
  s.sql_error = "Can't connect to server on '" + host + "' (111 \"Connection refused\")";
  return s;
}

ReplicaStatus replica_of(const std::string& source, std::int64_t lag) {
  ReplicaStatus r;
  r.source_host = source;
  r.source_port = 3306;
  r.source_user = "repl";
  r.io_running = true;
  r.sql_running = true;
  r.seconds_behind = lag;
  r.using_gtid = true;
  r.gtid_io_pos = "0-2-20";
  r.source_read = {"mysql-bin.000001", 4711};
  r.source_executed = {"mysql-bin.000001", 4711};
  return r;
}

FailoverFacts lab_failover() {
  FailoverFacts f;
  f.flag_mtime = kT0;
  f.detected_at = kT0 + std::chrono::seconds(1);
  f.old_master = kOld;
  f.new_master = kNew;
  f.outcome = "success";
  f.has_promotion = true;
  f.promotion_host = kNew;
  f.promotion_port = 3306;
  f.promotion = {"mysql-bin.000001", 2689};
  f.latest_replica_read = {"mysql-bin.000001", 2689};
  f.dead_master_ssh_reachable = true;
  return f;
}

ClusterSnapshot after_failover() {
  ClusterSnapshot s;
  s.taken_at = kT0 + std::chrono::seconds(2);
  s.servers = {down(kOld), maria(kNew, 2, false)};
  s.mha.failover_complete_mtime = kT0;
  return s;
}

ClusterSnapshot old_fenced() {
  ClusterSnapshot s = after_failover();
  s.servers[0] = maria(kOld, 1, true);
  return s;
}

ClusterSnapshot rejoined(std::int64_t lag) {
  ClusterSnapshot s = old_fenced();
  s.servers[0].replica = replica_of(kNew, lag);
  return s;
}

ClusterSnapshot switched_back() {
  ClusterSnapshot s;
  s.taken_at = kT0 + std::chrono::minutes(10);
  s.servers = {maria(kOld, 1, false), maria(kNew, 2, true)};
  s.servers[1].replica = replica_of(kOld);
  return s;
}

PersistedState state_in(ClusterState st) {
  PersistedState p;
  p.cluster = "app1";
  p.state = st;
  p.state_since = kT0 + std::chrono::seconds(1);
  p.handled_flag_mtime = kT0;
  if (st != ClusterState::Healthy) p.failover = lab_failover();
  if (st == ClusterState::SlaveRejoined || st == ClusterState::Validated ||
      st == ClusterState::SwitchedBack) {
    p.divergence_checked = true;
    p.rejoined_at = kT0 + std::chrono::seconds(60);
  }
  return p;
}

ResultSet facts_rows(bool read_only, std::uint32_t server_id, const std::string& version) {
  return rows({"version", "server_id", "read_only", "log_bin"},
              {{version, std::to_string(server_id), read_only ? "1" : "0", "1"}});
}

namespace {

ResultSet with_overrides(std::vector<std::pair<std::string, std::optional<std::string>>> cols,
                         const Columns& overrides) {
  for (const auto& [name, value] : overrides) {
    bool found = false;
    for (auto& c : cols)
      if (c.first == name) {
        c.second = value;
        found = true;
      }
    if (!found) ADD_FAILURE() << "no column " << name << " in this replication status";
  }
  ResultSet rs;
  SqlRow row;
  for (auto& c : cols) {
    rs.columns.push_back(c.first);
    row.push_back(c.second);
  }
  rs.rows.push_back(std::move(row));
  return rs;
}

}  // namespace

ResultSet maria_slave_status(const Columns& overrides) {
  // Every column of MariaDB 10.11.19's SHOW SLAVE STATUS, in its order (captured from a real server),
  // as on the old master replicating from the new one.
  return with_overrides(
      {{"Slave_IO_State", "Waiting for master to send event"},
       {"Master_Host", kNew},
       {"Master_User", "repl"},
       {"Master_Port", "3306"},
       {"Connect_Retry", "60"},
       {"Master_Log_File", "mysql-bin.000001"},
       {"Read_Master_Log_Pos", "4711"},
       {"Relay_Log_File", "relay-bin.000002"},
       {"Relay_Log_Pos", "2333"},
       {"Relay_Master_Log_File", "mysql-bin.000001"},
       {"Slave_IO_Running", "Yes"},
       {"Slave_SQL_Running", "Yes"},
       {"Replicate_Do_DB", ""},
       {"Replicate_Ignore_DB", ""},
       {"Replicate_Do_Table", ""},
       {"Replicate_Ignore_Table", ""},
       {"Replicate_Wild_Do_Table", ""},
       {"Replicate_Wild_Ignore_Table", ""},
       {"Last_Errno", "0"},
       {"Last_Error", ""},
       {"Skip_Counter", "0"},
       {"Exec_Master_Log_Pos", "4711"},
       {"Relay_Log_Space", "2642"},
       {"Until_Condition", "None"},
       {"Until_Log_File", ""},
       {"Until_Log_Pos", "0"},
       {"Master_SSL_Allowed", "No"},
       {"Master_SSL_CA_File", ""},
       {"Master_SSL_CA_Path", ""},
       {"Master_SSL_Cert", ""},
       {"Master_SSL_Cipher", ""},
       {"Master_SSL_Key", ""},
       {"Seconds_Behind_Master", "0"},
       {"Master_SSL_Verify_Server_Cert", "No"},
       {"Last_IO_Errno", "0"},
       {"Last_IO_Error", ""},
       {"Last_SQL_Errno", "0"},
       {"Last_SQL_Error", ""},
       {"Replicate_Ignore_Server_Ids", ""},
       {"Master_Server_Id", "2"},
       {"Master_SSL_Crl", ""},
       {"Master_SSL_Crlpath", ""},
       {"Using_Gtid", "Slave_Pos"},
       {"Gtid_IO_Pos", "0-2-20"},
       {"Replicate_Do_Domain_Ids", ""},
       {"Replicate_Ignore_Domain_Ids", ""},
       {"Parallel_Mode", "optimistic"},
       {"SQL_Delay", "0"},
       {"SQL_Remaining_Delay", std::nullopt},
       {"Slave_SQL_Running_State", "Slave has read all relay log; waiting for more updates"},
       {"Slave_DDL_Groups", "0"},
       {"Slave_Non_Transactional_Groups", "0"},
       {"Slave_Transactional_Groups", "7"},
       {"Replicate_Rewrite_DB", ""}},
      overrides);
}

ResultSet mysql_replica_status(const Columns& overrides) {
  // MySQL 8.0.23+ SHOW REPLICA STATUS, every column in its documented order.
  return with_overrides(
      {{"Replica_IO_State", "Waiting for source to send event"},
       {"Source_Host", kNew},
       {"Source_User", "repl"},
       {"Source_Port", "3306"},
       {"Connect_Retry", "60"},
       {"Source_Log_File", "binlog.000003"},
       {"Read_Source_Log_Pos", "1577"},
       {"Relay_Log_File", "relay.000002"},
       {"Relay_Log_Pos", "1204"},
       {"Relay_Source_Log_File", "binlog.000003"},
       {"Replica_IO_Running", "Yes"},
       {"Replica_SQL_Running", "Yes"},
       {"Replicate_Do_DB", ""},
       {"Replicate_Ignore_DB", ""},
       {"Replicate_Do_Table", ""},
       {"Replicate_Ignore_Table", ""},
       {"Replicate_Wild_Do_Table", ""},
       {"Replicate_Wild_Ignore_Table", ""},
       {"Last_Errno", "0"},
       {"Last_Error", ""},
       {"Skip_Counter", "0"},
       {"Exec_Source_Log_Pos", "1577"},
       {"Relay_Log_Space", "1410"},
       {"Until_Condition", "None"},
       {"Until_Log_File", ""},
       {"Until_Log_Pos", "0"},
       {"Source_SSL_Allowed", "No"},
       {"Source_SSL_CA_File", ""},
       {"Source_SSL_CA_Path", ""},
       {"Source_SSL_Cert", ""},
       {"Source_SSL_Cipher", ""},
       {"Source_SSL_Key", ""},
       {"Seconds_Behind_Source", "0"},
       {"Source_SSL_Verify_Server_Cert", "No"},
       {"Last_IO_Errno", "0"},
       {"Last_IO_Error", ""},
       {"Last_SQL_Errno", "0"},
       {"Last_SQL_Error", ""},
       {"Replicate_Ignore_Server_Ids", ""},
       {"Source_Server_Id", "2"},
       {"Source_UUID", "4a7b1c2d-0000-11ee-8000-00163e000002"},
       {"Source_Info_File", "mysql.slave_master_info"},
       {"SQL_Delay", "0"},
       {"SQL_Remaining_Delay", std::nullopt},
       {"Replica_SQL_Running_State", "Replica has read all relay log; waiting for more updates"},
       {"Source_Retry_Count", "86400"},
       {"Source_Bind", ""},
       {"Last_IO_Error_Timestamp", ""},
       {"Last_SQL_Error_Timestamp", ""},
       {"Source_SSL_Crl", ""},
       {"Source_SSL_Crlpath", ""},
       {"Retrieved_Gtid_Set", "4a7b1c2d-0000-11ee-8000-00163e000002:1-7"},
       {"Executed_Gtid_Set",
        "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-13,4a7b1c2d-0000-11ee-8000-00163e000002:1-7"},
       {"Auto_Position", "1"},
       {"Replicate_Rewrite_DB", ""},
       {"Channel_Name", ""},
       {"Source_TLS_Version", ""},
       {"Source_public_key_path", ""},
       {"Get_Source_public_key", "0"},
       {"Network_Namespace", ""}},
      overrides);
}

ResultSet maria_gtid_rows(const std::string& binlog_pos, const std::string& binlog_state,
                          const std::string& slave_pos, const std::string& current_pos) {
  return rows({"gtid_binlog_pos", "gtid_binlog_state", "gtid_slave_pos", "gtid_current_pos"},
              {{binlog_pos, binlog_state, slave_pos, current_pos}});
}

ResultSet master_status_rows(const std::string& file, std::uint64_t pos) {
  return rows({"File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB"},
              {{file, std::to_string(pos), "", ""}});
}

// ---------------------------------------------------------------- StepHarness

StepHarness::StepHarness()
    : config(lab_config()), snapshot(after_failover()), state(state_in(ClusterState::Degraded)) {}

StepOutcome StepHarness::run(StepOutcome (*step)(StepContext&), bool planning) {
  Ports ports{sql, commands, remote, clock, files, audit};
  StepIo io(
      config, ports,
      [this]() -> Status {
        Call c;
        c.kind = CallKind::Save;
        c.text = "save";
        if (auto e = script.on_event(c)) return *e;
        saves.push_back(state);
        return {};
      },
      [this](AuditRecord& r) {
        r.cluster = config.name;
        r.state = std::string(to_string(state.state));
      });
  StepContext ctx{config, snapshot, state, io, abort, state_dir, planning, engine_started};
  // The outcome holds values only, nothing of `io` (cppcheck sees the reference in `ctx`).
  // cppcheck-suppress danglingLifetime
  outcome = step(ctx);
  // cppcheck-suppress danglingLifetime
  return *outcome;
}

std::string StepHarness::all_text() const {
  std::string s;
  if (outcome) s += outcome->sentence + "\n" + outcome->suggestion + "\n";
  s += audit.dump();
  s += serialize_state(state);
  for (const auto& saved : saves)
    s += serialize_state(saved);
  for (const auto& path : files.paths_under("/"))
    if (const auto* f = files.find(path)) s += f->content;
  return s;
}

std::vector<std::string> StepHarness::mutating_sql(const std::string& host) const {
  std::vector<std::string> out;
  for (const auto& s : sql.issued(host))
    if (s.mutates) out.push_back(s.text);
  return out;
}

// ---------------------------------------------------------------- checks

const char* kind_name(StepOutcome::Kind k) {
  switch (k) {
    case StepOutcome::Kind::Progress:
      return "Progress";
    case StepOutcome::Kind::Wait:
      return "Wait";
    case StepOutcome::Kind::Transition:
      return "Transition";
    case StepOutcome::Kind::Block:
      return "Block";
    case StepOutcome::Kind::Retry:
      return "Retry";
  }
  return "?";
}

std::string describe(const StepOutcome& o) {
  std::string s = kind_name(o.kind);
  if (o.to) s += " -> " + std::string(to_string(*o.to));
  s += ": " + o.sentence;
  if (!o.suggestion.empty()) s += " [suggested: " + o.suggestion + "]";
  return s;
}

::testing::AssertionResult retry_or_block(const StepOutcome& o) {
  if (o.kind != StepOutcome::Kind::Retry && o.kind != StepOutcome::Kind::Block)
    return ::testing::AssertionFailure() << "expected Retry or Block, got " << describe(o);
  if (o.sentence.empty()) return ::testing::AssertionFailure() << "no sentence: " << describe(o);
  if (o.kind == StepOutcome::Kind::Block && (o.suggestion.empty() || o.to != ClusterState::Blocked))
    return ::testing::AssertionFailure() << "a block without a suggested action: " << describe(o);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult secret_nowhere(const StepHarness& h, const std::string& secret) {
  std::string quoted = quote_string(secret);
  std::string escaped = quoted.substr(1, quoted.size() - 2);
  std::string text = h.all_text();
  if (text.find(secret) != std::string::npos || text.find(escaped) != std::string::npos)
    return ::testing::AssertionFailure() << "the secret appears in what the step said or recorded:\n" << text;
  for (const auto& r : h.audit.of(AuditKind::Sql)) {
    auto sql = r.fields.find("SQL");
    if (sql == r.fields.end())
      return ::testing::AssertionFailure() << "an Sql record without SQL: " << r.message;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace mhafb::test
