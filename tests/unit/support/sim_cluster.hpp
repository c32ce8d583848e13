// SimCluster: a small, deterministic model of an MHA-managed MariaDB pair behind the engine's ports
// (SQL answered from the model, the MHA tools acting on it, SSH, files and a clock), for whole-procedure
// tests of the engine. Every port call passes through one counter so a test can fail call k — or
// "crash" the daemon at call k — for every k in turn. It models what the engine relies on, nothing
// more; the real components are exercised by the adapter and integration suites.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/cluster_config.hpp"
#include "ports/audit_sink.hpp"
#include "ports/clock_port.hpp"
#include "ports/command_port.hpp"
#include "ports/files_port.hpp"
#include "ports/remote_shell_port.hpp"
#include "ports/sql_port.hpp"
#include "supervisor/ports.hpp"

namespace mhafb::sim {

// Thrown by a port at the chosen call to model the daemon being killed there (the test catches it
// around tick() and builds a new engine from what was persisted).
struct Crash {};

struct Replica {
  std::string source;
  int port = 3306;
  bool io = false;
  bool sql = false;
  bool gtid = false;
  int sql_errno = 0;
  std::string sql_error;
  int io_errno = 0;
  std::string io_error;
};

struct Server {
  std::string host;
  std::uint32_t server_id = 0;
  bool up = true;       // database answers SQL
  bool host_up = true;  // SSH answers
  bool read_only = false;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> binlog_state;  // (domain, server) -> seq
  std::string slave_pos;
  std::optional<Replica> replica;
  std::vector<std::uint64_t> rows;  // the application table: ids committed here
  // A session's UPDATE running from .first until .second (MHA's online switch refuses once it has
  // run for 2 s); `long_update_hidden` keeps it out of the processlist the daemon reads (it began
  // after the daemon looked), not out of MHA's.
  std::optional<std::pair<TimePoint, TimePoint>> long_update;
  bool long_update_hidden = false;

  bool master() const { return up && !read_only && !replica; }
  std::string binlog_pos() const;  // last GTID of domain 0
  std::string binlog_state_text() const;
};

class SimCluster {
 public:
  SimCluster();

  // The MHA failover: db1 dies, db2 is promoted, the flag and manager log are written.
  // `unshipped` transactions committed on db1 never reached db2 (divergence).
  void failover(int unshipped = 0);
  // The application writes one row on the writable master, if there is exactly one.
  bool write();
  // Replication applies what the sources have (called between ticks).
  void replicate();
  void advance(std::chrono::milliseconds d);

  Server& server(const std::string& host) { return host == "127.0.0.11" ? db1 : db2; }
  int writable_masters() const { return (db1.master() ? 1 : 0) + (db2.master() ? 1 : 0); }

  Ports ports() { return Ports{sql_, commands_, remote_, clock_, files_, audit_}; }

  // Fault injection: call number `fail_at` returns an error; `crash_at` throws Crash instead.
  long calls = 0;
  long fail_at = -1;
  long crash_at = -1;
  bool hit();  // counts a call; true when it must fail

  Server db1, db2;
  bool manager_running = false;
  int switches = 0;                       // masterha_master_switch runs that switched
  int switch_failures = 0;                // make the next N switches fail after write rejection began
  int switch_refusals = 0;                // runs refused in MHA's checks for a long update (nothing changed)
  std::vector<std::string> mutating_sql;  // "<host>: <statement>"
  std::vector<std::string> commands_run;  // display() of every command
  std::vector<AuditRecord> audit_records;
  std::map<std::string, std::pair<std::string, TimePoint>> files;  // path -> content, mtime
  TimePoint now;
  std::uint64_t next_seq = 100;

  static constexpr const char* kWorkdir = "/mha/work";
  static constexpr const char* kConf = "/etc/mha/app1.cnf";
  static constexpr const char* kLog = "/mha/manager.log";

  // The daemon's configuration for this cluster: app1, db1 (127.0.0.11) preferred, short windows.
  static ClusterConfig config(Mode mode = Mode::Approve);

 private:
  struct SqlImpl final : SqlPort {
    SimCluster& c;
    explicit SqlImpl(SimCluster& c) : c(c) {}
    Result<ResultSet> query(const Endpoint& ep, const SqlStatement& st) override;
  };
  struct CommandsImpl final : CommandPort {
    SimCluster& c;
    explicit CommandsImpl(SimCluster& c) : c(c) {}
    Result<CommandOutput> run(const CommandSpec& spec) override;
  };
  struct RemoteImpl final : RemoteShellPort {
    SimCluster& c;
    explicit RemoteImpl(SimCluster& c) : c(c) {}
    Result<CommandOutput> run(const RemoteTarget& target, const CommandSpec& spec) override;
    Status probe(const RemoteTarget& target, std::chrono::milliseconds timeout) override;
  };
  struct FilesImpl final : FilesPort {
    SimCluster& c;
    explicit FilesImpl(SimCluster& c) : c(c) {}
    Result<FileInfo> stat(const std::string& path) override;
    Result<std::string> read_tail(const std::string& path, std::uint64_t max_bytes) override;
    Status move(const std::string& from, const std::string& to) override;
    Status write_atomic(const std::string& path, const std::string& content, unsigned mode) override;
  };
  struct ClockImpl final : ClockPort {
    SimCluster& c;
    explicit ClockImpl(SimCluster& c) : c(c) {}
    TimePoint now() override { return c.now; }
    void sleep_for(std::chrono::milliseconds d) override { c.advance(d); }
  };
  struct AuditImpl final : AuditSink {
    SimCluster& c;
    explicit AuditImpl(SimCluster& c) : c(c) {}
    void record(const AuditRecord& r) override { c.audit_records.push_back(r); }
  };

  SqlImpl sql_{*this};
  CommandsImpl commands_{*this};
  RemoteImpl remote_{*this};
  FilesImpl files_{*this};
  ClockImpl clock_{*this};
  AuditImpl audit_{*this};
};

}  // namespace mhafb::sim
