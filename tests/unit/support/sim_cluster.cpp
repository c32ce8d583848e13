// The SimCluster model: statements and tool runs applied to two in-memory servers.
#include "support/sim_cluster.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace mhafb::sim {

ClusterConfig SimCluster::config(Mode mode) {
  ClusterConfig c;
  c.name = "app1";
  c.mode = mode;
  c.preferred_master = "127.0.0.11";
  c.mha.conf_path = kConf;
  c.mha.app_name = "app1";
  c.mha.manager_workdir = kWorkdir;
  c.mha.manager_log = kLog;
  int n = 1;
  for (const char* h : {"127.0.0.11", "127.0.0.12"}) {
    MhaServer s;
    s.block = "server" + std::to_string(n++);
    s.hostname = h;
    s.candidate_master = true;
    c.mha.servers.push_back(s);
  }
  c.replication = {"repl", {"s3cret-'Pass", "test"}};
  c.admin = {"mha", {"adm1n-Pass", "test"}};
  c.commands.start_database = {"start-db"};
  c.commands.manager_start = {"mgr-start"};
  c.commands.manager_stop = {"mgr-stop"};
  c.validation.stable_window = std::chrono::seconds(5);
  return c;
}

namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

ResultSet one_row(std::vector<std::string> cols, std::vector<std::optional<std::string>> vals) {
  ResultSet rs;
  rs.columns = std::move(cols);
  rs.rows.push_back(std::move(vals));
  return rs;
}

std::string read_sample(const std::string& name) {
  std::ifstream in(std::string(MHAFB_TEST_DATA_DIR) + "/mha/samples/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandOutput output(int rc, std::string out) {
  CommandOutput o;
  o.exit_code = rc;
  o.out = std::move(out);
  o.duration = std::chrono::milliseconds(5);
  return o;
}

std::string flag_path() {
  return std::string(SimCluster::kWorkdir) + "/app1.failover.complete";
}

}  // namespace

std::string Server::binlog_pos() const {
  std::uint64_t best = 0;
  std::uint32_t who = 0;
  for (const auto& [k, seq] : binlog_state)
    if (k.first == 0 && seq >= best) {
      best = seq;
      who = k.second;
    }
  if (best == 0) return "";
  return "0-" + std::to_string(who) + "-" + std::to_string(best);
}

std::string Server::binlog_state_text() const {
  std::string out;
  for (const auto& [k, seq] : binlog_state) {
    if (!out.empty()) out += ",";
    out += std::to_string(k.first) + "-" + std::to_string(k.second) + "-" + std::to_string(seq);
  }
  return out;
}

SimCluster::SimCluster() : now(std::chrono::seconds(1'800'000'000)) {
  db1.host = "127.0.0.11";
  db1.server_id = 1;
  db2.host = "127.0.0.12";
  db2.server_id = 2;
  db2.read_only = true;
  Replica r;
  r.source = "127.0.0.11";
  r.io = r.sql = r.gtid = true;
  db2.replica = r;
  db1.binlog_state[{0, 1}] = next_seq;
  db2.binlog_state[{0, 1}] = next_seq;
  db2.slave_pos = "0-1-" + std::to_string(next_seq);
  manager_running = true;
}

bool SimCluster::hit() {
  long n = calls++;
  if (n == crash_at) throw Crash{};
  return n == fail_at;
}

bool SimCluster::write() {
  Server* m = nullptr;
  if (db1.master() && !db2.master()) m = &db1;
  if (db2.master() && !db1.master()) m = &db2;
  if (!m) return false;
  std::uint64_t seq = ++next_seq;
  m->binlog_state[{0, m->server_id}] = seq;
  m->rows.push_back(seq);
  return true;
}

void SimCluster::replicate() {
  for (Server* r : {&db1, &db2}) {
    if (!r->up || !r->replica || !r->replica->io || !r->replica->sql) continue;
    Server& src = server(r->replica->source);
    if (!src.up) continue;
    auto own = r->binlog_state.find({0, r->server_id});
    auto theirs = src.binlog_state.find({0, r->server_id});
    if (own != r->binlog_state.end() && (theirs == src.binlog_state.end() || theirs->second < own->second)) {
      r->replica->io = false;
      r->replica->io_errno = 1236;
      r->replica->io_error =
          "Got fatal error 1236 from master: the replica has transactions the master lacks";
      continue;
    }
    for (auto id : src.rows)
      if (std::find(r->rows.begin(), r->rows.end(), id) == r->rows.end()) r->rows.push_back(id);
    for (const auto& [k, seq] : src.binlog_state)
      r->binlog_state[k] = std::max(r->binlog_state[k], seq);
    r->slave_pos = src.binlog_pos();
  }
}

void SimCluster::advance(std::chrono::milliseconds d) {
  now += d;
  replicate();
}

void SimCluster::failover(int unshipped) {
  replicate();
  for (int i = 0; i < unshipped; ++i) {
    std::uint64_t seq = ++next_seq;
    db1.binlog_state[{0, 1}] = seq;
    db1.rows.push_back(seq);
  }
  db1.up = false;
  manager_running = false;
  db2.replica.reset();
  db2.read_only = false;
  files[flag_path()] = {"", now};
  files[kLog] = {read_sample("derived-manager_log.failover_success.log"), now};
}

Result<ResultSet> SimCluster::SqlImpl::query(const Endpoint& ep, const SqlStatement& st) {
  if (c.hit()) return Error::unreachable(ep.label() + ": injected: lost connection");
  Server& s = c.server(ep.host);
  if (!s.up) return Error::unreachable(ep.label() + ": Can't connect to server (111)");
  const std::string& q = st.text;
  if (st.mutates) c.mutating_sql.push_back(s.host + ": " + st.audit_text);
  if (starts_with(q, "SELECT @@GLOBAL.version"))
    return one_row(
        {"version", "server_id", "read_only", "log_bin"},
        {"10.11.19-MariaDB-0+deb12u1-log", std::to_string(s.server_id), s.read_only ? "1" : "0", "1"});
  if (starts_with(q, "SELECT @@GLOBAL.gtid_binlog_pos"))
    return one_row({"gtid_binlog_pos", "gtid_binlog_state", "gtid_slave_pos", "gtid_current_pos"},
                   {s.binlog_pos(), s.binlog_state_text(), s.slave_pos, s.binlog_pos()});
  if (starts_with(q, "SELECT ID AS id, USER AS user")) {  // running statements, >= 1 s
    ResultSet rs;
    rs.columns = {"id", "user", "command", "time", "info"};
    if (s.long_update && !s.long_update_hidden && c.now >= s.long_update->first &&
        c.now < s.long_update->second) {
      const auto age = std::chrono::duration_cast<std::chrono::seconds>(c.now - s.long_update->first);
      if (age.count() >= 1)
        rs.rows.push_back({"77", "app", "Query", std::to_string(age.count()), "UPDATE t SET x = 1"});
    }
    return rs;
  }
  if (q == "SHOW MASTER STATUS")
    return one_row({"File", "Position"}, {"mysql-bin.000001", std::to_string(c.next_seq * 100)});
  if (q == "SHOW SLAVE STATUS") {
    if (!s.replica) return ResultSet{};
    const Replica& r = *s.replica;
    bool running = r.io && r.sql;
    return one_row({"Master_Host", "Master_Port", "Master_User", "Slave_IO_Running", "Slave_SQL_Running",
                    "Seconds_Behind_Master", "Last_IO_Errno", "Last_IO_Error", "Last_SQL_Errno",
                    "Last_SQL_Error", "Using_Gtid", "Gtid_IO_Pos", "Master_Log_File", "Read_Master_Log_Pos",
                    "Relay_Master_Log_File", "Exec_Master_Log_Pos"},
                   {r.source, std::to_string(r.port), "repl", r.io ? "Yes" : "No", r.sql ? "Yes" : "No",
                    running ? std::optional<std::string>("0") : std::nullopt, std::to_string(r.io_errno),
                    r.io_error, std::to_string(r.sql_errno), r.sql_error, r.gtid ? "Slave_Pos" : "No",
                    s.slave_pos, "mysql-bin.000001", "400", "mysql-bin.000001", "400"});
  }
  if (q == "SET GLOBAL read_only = 1") {
    s.read_only = true;
    return ResultSet{};
  }
  if (q == "SET GLOBAL read_only = 0") {
    s.read_only = false;
    return ResultSet{};
  }
  if (q == "STOP SLAVE") {
    if (s.replica) s.replica->io = s.replica->sql = false;
    return ResultSet{};
  }
  if (q == "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos") {
    if (s.replica && (s.replica->io || s.replica->sql))
      return Error::failed(ep.label() + ": This operation cannot be performed as you have a running slave",
                           1198);
    s.slave_pos = s.binlog_pos();
    return ResultSet{};
  }
  if (starts_with(q, "CHANGE MASTER TO")) {
    if (s.replica && (s.replica->io || s.replica->sql))
      return Error::failed(ep.label() + ": This operation cannot be performed as you have a running slave",
                           1198);
    auto at = q.find("MASTER_HOST='");
    auto end = at == std::string::npos ? at : q.find('\'', at + 13);
    if (end == std::string::npos) return Error::failed("sim: CHANGE MASTER without MASTER_HOST", 1064);
    Replica r;
    r.source = q.substr(at + 13, end - at - 13);
    r.gtid = q.find("MASTER_USE_GTID=slave_pos") != std::string::npos;
    s.replica = r;
    return ResultSet{};
  }
  if (q == "START SLAVE") {
    if (!s.replica) return Error::failed(ep.label() + ": Misconfigured slave", 1200);
    s.replica->io = s.replica->sql = true;
    s.replica->io_errno = 0;
    s.replica->io_error.clear();
    return ResultSet{};
  }
  if (q == "SET GLOBAL sql_slave_skip_counter = 1") {
    if (s.replica) {
      s.replica->sql_errno = 0;
      s.replica->sql_error.clear();
    }
    return ResultSet{};
  }
  return Error::failed("sim: unexpected statement: " + q, 1064);
}

Result<CommandOutput> SimCluster::CommandsImpl::run(const CommandSpec& spec) {
  if (c.hit()) return Error::failed("injected: cannot start " + spec.argv.at(0));
  c.commands_run.push_back(spec.display());
  std::string tool = spec.argv.at(0);
  if (auto slash = tool.rfind('/'); slash != std::string::npos) tool = tool.substr(slash + 1);
  if (tool == "masterha_check_ssh") {
    bool ok = c.db1.host_up && c.db2.host_up;
    return output(
        255, ok ? "All SSH connection tests passed successfully.\n" : "SSH Configuration Check Failed!\n");
  }
  if (tool == "masterha_check_repl") {
    bool ok = (c.db1.master() && c.db2.replica && c.db2.replica->source == c.db1.host && c.db2.replica->io &&
               c.db2.replica->sql) ||
              (c.db2.master() && c.db1.replica && c.db1.replica->source == c.db2.host && c.db1.replica->io &&
               c.db1.replica->sql);
    return ok ? output(0, "MySQL Replication Health is OK.\n")
              : output(1, "MySQL Replication Health is NOT OK!\n");
  }
  if (tool == "masterha_check_status") {
    if (c.manager_running)
      return output(0, std::string("app1 (pid:31423) is running(0:PING_OK), master:") +
                           (c.db1.master() ? c.db1.host : c.db2.host) + "\n");
    return output(2, "app1 is stopped(2:NOT_RUNNING).\n");
  }
  if (tool == "masterha_master_switch") {
    if (c.manager_running)
      return output(1,
                    "Got ERROR: Getting advisory lock failed on the current master. MHA Monitor runs on the "
                    "current master. Stop MHA Manager/Monitor and try again.\n");
    std::string target;
    for (const auto& a : spec.argv)
      if (starts_with(a, "--new_master_host=")) target = a.substr(18);
    Server& t = c.server(target);
    Server& cur = target == c.db1.host ? c.db2 : c.db1;
    if (!t.up || !cur.up) return output(1, "Got ERROR: Server is not alive.\n");
    if (cur.long_update && c.now >= cur.long_update->first + std::chrono::seconds(2) &&
        c.now < cur.long_update->second) {
      ++c.switch_refusals;
      return output(1,
                    "[error][/usr/share/perl5/MHA/MasterRotate.pm, ln162] We should not start online master "
                    "switch when one of connections are running long updates on the current master(" +
                        cur.host + "(" + cur.host + ":3306)). Currently 1 update thread(s) are running.\n");
    }
    if (t.master()) {
      cur.read_only = true;
      return output(1, "Got ERROR: " + target + " is already master.\n");
    }
    cur.read_only = true;  // write rejection begins; MHA rolls nothing back after this
    if (c.switch_failures > 0) {
      --c.switch_failures;
      return output(1, "Got ERROR: Waiting for the new master to catch up timed out.\n");
    }
    c.replicate();
    t.replica.reset();
    t.read_only = false;
    Replica r;
    r.source = t.host;
    r.io = r.sql = true;
    cur.replica = r;
    ++c.switches;
    return output(0, "Switching master to " + target + "(" + target + ":3306) completed successfully.\n");
  }
  if (tool == "mgr-start") {
    c.manager_running = true;
    return output(0, "");
  }
  if (tool == "mgr-stop") {
    c.manager_running = false;
    return output(0, "");
  }
  return output(127, "sim: unknown command " + tool + "\n");
}

Result<CommandOutput> SimCluster::RemoteImpl::run(const RemoteTarget& target, const CommandSpec& spec) {
  if (c.hit()) return Error::unreachable("injected: " + target.label() + " unreachable");
  Server& s = c.server(target.host);
  if (!s.host_up) return Error::unreachable(target.label() + ": connection refused");
  c.commands_run.push_back(target.host + ": " + spec.display());
  if (spec.argv.at(0) == "start-db") {
    s.up = true;
    return output(0, "");
  }
  return output(127, "sim: unknown remote command\n");
}

Status SimCluster::RemoteImpl::probe(const RemoteTarget& target, std::chrono::milliseconds) {
  if (c.hit()) return Error::unreachable("injected: " + target.label() + " unreachable");
  if (!c.server(target.host).host_up) return Error::unreachable(target.label() + ": connection refused");
  return {};
}

Result<FileInfo> SimCluster::FilesImpl::stat(const std::string& path) {
  if (c.hit()) return Error::failed("injected: stat " + path + " failed");
  auto it = c.files.find(path);
  if (it == c.files.end()) return FileInfo{};
  return FileInfo{true, it->second.second, it->second.first.size()};
}

Result<std::string> SimCluster::FilesImpl::read_tail(const std::string& path, std::uint64_t max_bytes) {
  if (c.hit()) return Error::failed("injected: read " + path + " failed");
  auto it = c.files.find(path);
  if (it == c.files.end()) return Error::not_found(path + ": no such file");
  const std::string& s = it->second.first;
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

Status SimCluster::FilesImpl::move(const std::string& from, const std::string& to) {
  if (c.hit()) return Error::failed("injected: move " + from + " failed");
  auto it = c.files.find(from);
  if (it == c.files.end()) return Error::not_found(from + ": no such file");
  c.files[to] = it->second;
  c.files.erase(from);
  return {};
}

Status SimCluster::FilesImpl::write_atomic(const std::string& path, const std::string& content, unsigned) {
  if (c.hit()) return Error::failed("injected: write " + path + " failed: No space left on device");
  c.files[path] = {content, c.now};
  return {};
}

}  // namespace mhafb::sim
