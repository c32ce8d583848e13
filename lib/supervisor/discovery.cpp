// Read-only probes of servers and MHA files into a snapshot.
#include "supervisor/discovery.hpp"

#include <cstdlib>

#include "mha/output_parsers.hpp"
#include "sql/statements.hpp"

namespace mhafb {

namespace {

std::string col(const ResultSet& rs, std::string_view a, std::string_view b = {}) {
  if (auto v = rs.get(0, a)) return *v;
  if (!b.empty())
    if (auto v = rs.get(0, b)) return *v;
  return {};
}

long long num(const std::string& s) {
  return s.empty() ? 0 : std::strtoll(s.c_str(), nullptr, 10);
}

}  // namespace

ReplicaStatus parse_replica_status(const ResultSet& rs) {
  ReplicaStatus r;
  r.source_host = col(rs, "Master_Host", "Source_Host");
  r.source_port = static_cast<int>(num(col(rs, "Master_Port", "Source_Port")));
  r.source_user = col(rs, "Master_User", "Source_User");
  std::string io = col(rs, "Slave_IO_Running", "Replica_IO_Running");
  r.io_running = io == "Yes";
  // MariaDB passes through "Preparing" right after START SLAVE, before "Yes".
  r.io_connecting = io == "Connecting" || io == "Preparing";
  r.sql_running = col(rs, "Slave_SQL_Running", "Replica_SQL_Running") == "Yes";
  auto lag = rs.get(0, "Seconds_Behind_Master");
  if (!lag) lag = rs.get(0, "Seconds_Behind_Source");
  if (lag && !lag->empty()) r.seconds_behind = num(*lag);
  r.last_io_errno = static_cast<int>(num(col(rs, "Last_IO_Errno")));
  r.last_io_error = col(rs, "Last_IO_Error");
  r.last_sql_errno = static_cast<int>(num(col(rs, "Last_SQL_Errno")));
  r.last_sql_error = col(rs, "Last_SQL_Error");
  std::string using_gtid = col(rs, "Using_Gtid");
  std::string auto_pos = col(rs, "Auto_Position");
  r.using_gtid = (!using_gtid.empty() && using_gtid != "No") || auto_pos == "1";
  r.gtid_io_pos = col(rs, "Gtid_IO_Pos");
  r.source_read = {col(rs, "Master_Log_File", "Source_Log_File"),
                   static_cast<std::uint64_t>(num(col(rs, "Read_Master_Log_Pos", "Read_Source_Log_Pos")))};
  r.source_executed = {
      col(rs, "Relay_Master_Log_File", "Relay_Source_Log_File"),
      static_cast<std::uint64_t>(num(col(rs, "Exec_Master_Log_Pos", "Exec_Source_Log_Pos")))};
  return r;
}

ServerSnapshot probe_server(const MhaServer& server, SqlPort& sql) {
  ServerSnapshot s;
  s.hostname = server.hostname;
  s.port = server.port;
  Endpoint ep{server.sql_address(), server.port};

  auto facts = sql.query(ep, sqlstmt::server_facts());
  if (!facts) {
    s.sql_error = facts.error().message;
    return s;
  }
  s.sql_reachable = true;
  s.version = facts->get(0, "version").value_or("");
  s.flavor = sqlstmt::flavor_of_version(s.version);
  s.server_id = static_cast<std::uint32_t>(num(facts->get(0, "server_id").value_or("0")));
  s.read_only = facts->get(0, "read_only").value_or("0") == "1";
  s.log_bin = facts->get(0, "log_bin").value_or("0") == "1";

  if (auto g = sql.query(ep, sqlstmt::gtid_state(s.flavor))) {
    if (s.flavor == Flavor::MySQL) {
      s.gtid_executed = g->get(0, "gtid_executed").value_or("");
    } else {
      s.gtid_binlog_pos = g->get(0, "gtid_binlog_pos").value_or("");
      s.gtid_binlog_state = g->get(0, "gtid_binlog_state").value_or("");
      s.gtid_slave_pos = g->get(0, "gtid_slave_pos").value_or("");
      s.gtid_current_pos = g->get(0, "gtid_current_pos").value_or("");
    }
  } else {
    s.sql_reachable = false;
    s.sql_error = g.error().message;
    return s;
  }
  if (auto m = sql.query(ep, sqlstmt::master_status())) {
    if (!m->empty())
      s.binlog_end = {m->get(0, "File").value_or(""),
                      static_cast<std::uint64_t>(num(m->get(0, "Position").value_or("0")))};
  } else {
    s.sql_reachable = false;
    s.sql_error = m.error().message;
    return s;
  }
  if (auto r = sql.query(ep, sqlstmt::replica_status(s.flavor, s.version))) {
    if (!r->empty()) {
      ReplicaStatus rep = parse_replica_status(*r);
      if (!rep.source_host.empty()) s.replica = rep;
    }
  } else {
    s.sql_reachable = false;
    s.sql_error = r.error().message;
  }
  return s;
}

MhaSnapshot probe_mha_files(const MhaAppConfig& mha, FilesPort& files) {
  MhaSnapshot m;
  if (auto f = files.stat(mha.failover_complete_flag()); f && f->exists) m.failover_complete_mtime = f->mtime;
  if (auto f = files.stat(mha.failover_error_flag()); f && f->exists) m.failover_error = true;
  if (auto h = files.read_tail(mha.health_file(), 4096))
    if (auto parsed = parse_health_file(*h)) m.health = *parsed;
  return m;
}

ClusterSnapshot discover(const ClusterConfig& config, SqlPort& sql, FilesPort& files, TimePoint now) {
  ClusterSnapshot snap;
  snap.taken_at = now;
  for (const auto& server : config.mha.servers)
    snap.servers.push_back(probe_server(server, sql));
  snap.mha = probe_mha_files(config.mha, files);
  return snap;
}

}  // namespace mhafb
