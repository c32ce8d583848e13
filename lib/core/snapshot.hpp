// ClusterSnapshot: an immutable picture of one cluster taken by discovery (read-only probes only;
// nothing is ever enforced while polling). The decision function reads nothing else about the world.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ports/clock_port.hpp"

namespace mhafb {

enum class Flavor { Unknown, MariaDB, MySQL };

struct BinlogPosition {
  std::string file;
  std::uint64_t pos = 0;

  bool empty() const { return file.empty(); }
  std::string label() const { return file + ":" + std::to_string(pos); }
  bool operator==(const BinlogPosition&) const = default;
};

// SHOW SLAVE STATUS (MariaDB) / SHOW REPLICA STATUS (MySQL), the fields the engine uses.
struct ReplicaStatus {
  std::string source_host;
  int source_port = 0;
  std::string source_user;
  bool io_running = false;     // Slave_IO_Running = Yes
  bool io_connecting = false;  // Slave_IO_Running = Connecting
  bool sql_running = false;
  std::optional<std::int64_t> seconds_behind;  // NULL when the SQL thread is stopped
  int last_io_errno = 0;
  std::string last_io_error;
  int last_sql_errno = 0;
  std::string last_sql_error;
  bool using_gtid = false;         // Using_Gtid != No
  std::string gtid_io_pos;         // MariaDB Gtid_IO_Pos
  BinlogPosition source_read;      // Master_Log_File / Read_Master_Log_Pos
  BinlogPosition source_executed;  // Relay_Master_Log_File / Exec_Master_Log_Pos
};

struct ServerSnapshot {
  std::string hostname;  // MHA `hostname`
  int port = 3306;
  bool sql_reachable = false;
  std::string sql_error;               // why not, when not
  std::optional<bool> host_reachable;  // SSH probe result when one was made this tick
  std::string host_error;
  std::string version;
  Flavor flavor = Flavor::Unknown;
  std::uint32_t server_id = 0;
  bool read_only = false;
  bool log_bin = false;
  std::optional<ReplicaStatus> replica;  // nullopt: not configured as a replica
  // MariaDB GTID state
  std::string gtid_binlog_pos;
  std::string gtid_binlog_state;
  std::string gtid_slave_pos;
  std::string gtid_current_pos;
  // MySQL GTID state
  std::string gtid_executed;
  BinlogPosition binlog_end;  // SHOW MASTER STATUS

  bool is_replica() const { return replica.has_value(); }
  // Writable and not replicating: what MHA considers a master.
  bool acts_as_master() const { return sql_reachable && !read_only && !is_replica(); }
};

// `<workdir>/<app>.master_status.health`: PID<TAB>CODE:NAME[<TAB>master:<host>]
struct ManagerHealth {
  long pid = 0;
  int code = -1;
  std::string name;    // "PING_OK"
  std::string master;  // host, when present
};

struct MhaSnapshot {
  std::optional<TimePoint> failover_complete_mtime;  // the flag, when present
  bool failover_error = false;                       // <app>.failover.error present
  std::optional<ManagerHealth> health;               // health file, when present and parsable
};

struct ClusterSnapshot {
  TimePoint taken_at{};
  std::vector<ServerSnapshot> servers;
  MhaSnapshot mha;

  const ServerSnapshot* find(const std::string& hostname) const {
    for (const auto& s : servers)
      if (s.hostname == hostname) return &s;
    return nullptr;
  }
  // Servers that act as master (writable, not replicating). More than one is a split brain.
  std::vector<const ServerSnapshot*> masters() const {
    std::vector<const ServerSnapshot*> out;
    for (const auto& s : servers)
      if (s.acts_as_master()) out.push_back(&s);
    return out;
  }
};

}  // namespace mhafb
