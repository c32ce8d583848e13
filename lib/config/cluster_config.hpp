// The configuration model the engine works from: what MHA's own config says about an app (parsed by
// mha/mha_config with MHA's rules) plus what the daemon's JSON config adds (config/daemon_config).
// Plain data; loaders fill it and report every error with file, key and expectation.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/state.hpp"

namespace mhafb {

// One [serverN] block of an MHA app config, after `[server default]` inheritance.
struct MhaServer {
  std::string block;     // "server1"
  std::string hostname;  // verbatim: masterha_master_switch wants --new_master_host string-equal to it
  std::string ip;        // `ip` when given, else empty (resolved by whoever connects)
  int port = 3306;
  std::string ssh_host;  // defaults to hostname
  int ssh_port = 22;
  std::string ssh_user;  // defaults to the current user in MHA; we default to "root"
  bool candidate_master = false;
  bool no_master = false;
  bool ignore_fail = false;
  std::string master_binlog_dir;
  std::string remote_workdir;

  // Where to connect for SQL / SSH (ip when set, hostname otherwise).
  std::string sql_address() const { return ip.empty() ? hostname : ip; }
  std::string ssh_address() const { return ssh_host.empty() ? sql_address() : ssh_host; }
};

struct MhaAppConfig {
  std::string conf_path;         // the app file given with --conf
  std::string global_conf_path;  // masterha_default.cnf, empty when none
  std::string app_name;          // basename of conf_path without extension
  std::string manager_workdir = "/var/tmp";
  std::string manager_log;    // empty: the manager logs to stderr
  std::string user = "root";  // admin SQL account MHA uses
  std::string password;
  std::string repl_user;
  std::string repl_password;
  bool use_gtid_auto_pos = false;
  std::vector<MhaServer> servers;

  std::string failover_complete_flag() const {
    return manager_workdir + "/" + app_name + ".failover.complete";
  }
  std::string failover_error_flag() const { return manager_workdir + "/" + app_name + ".failover.error"; }
  std::string health_file() const { return manager_workdir + "/" + app_name + ".master_status.health"; }
  const MhaServer* find_server(const std::string& hostname) const {
    for (const auto& s : servers)
      if (s.hostname == hostname) return &s;
    return nullptr;
  }
};

// A secret and where it came from (for error messages; the value is never logged).
struct Secret {
  std::string value;
  std::string
      source;  // e.g. "password in /etc/mha.conf [server default]" or "file /etc/mha-failback/repl.pw"
};

struct SqlAccount {
  std::string user;
  Secret password;
};

struct SshSettings {
  std::string user = "root";
  std::optional<int> port;    // overrides the MHA ssh_port when set
  std::string identity_file;  // ed25519 private key
  std::string known_hosts = "/etc/ssh/ssh_known_hosts";
  std::chrono::milliseconds connect_timeout{5'000};
};

struct ClusterCommands {
  // Remote (run over SSH on a database host): start the database server when the host is up but
  // SQL does not answer.
  std::vector<std::string> start_database{"systemctl", "start", "mariadb"};
  // Local (on the manager host): the MHA manager for this app.
  std::vector<std::string> manager_start;  // default: systemctl start mha-manager@<app>.service
  std::vector<std::string> manager_stop;   // default: masterha_stop --conf=<conf>
  // Remote, on the host that gains / loses the master role (the runbook's Zabbix Server). Empty: none.
  std::vector<std::string> companion_start;
  std::vector<std::string> companion_stop;
  // Extra environment for the MHA tools ("KEY=VALUE", e.g. PERL5LIB for patched modules).
  std::vector<std::string> mha_tool_env;
  // Directory of the masterha_* tools; empty: looked up in PATH.
  std::string mha_bin_dir;
  // mysqlbinlog, to extract a diverged server's extra transactions for the operator.
  std::string mysqlbinlog = "mysqlbinlog";
};

struct ValidationSettings {
  int max_lag_seconds = 5;                 // Seconds_Behind_Master must stay at or below this…
  std::chrono::seconds stable_window{30};  // …for this long, continuously
  bool run_mha_checks = true;              // masterha_check_ssh and masterha_check_repl
};

enum class SqlErrorAction { Block, Skip };

struct SqlErrorPolicy {
  SqlErrorAction action = SqlErrorAction::Block;
  int max_skips = 0;  // with Skip: at most this many events per rejoin, then blocked
};

struct Timeouts {
  std::chrono::milliseconds probe_interval{1'000};
  std::chrono::milliseconds sql_timeout{2'000};   // connect/read/write per SQL call
  std::chrono::seconds old_master_return{3'600};  // waiting for the old master's host/SQL
  std::chrono::seconds database_start{120};       // after start_database ran
  std::chrono::seconds catch_up{600};             // rejoined replica reaching the lag bound
  std::chrono::seconds switch_budget{300};        // the whole switch-back operation
  std::chrono::seconds manager_restart{120};      // until masterha_check_status says PING_OK
  std::chrono::seconds tool{180};                 // any one MHA tool run
};

struct ClusterConfig {
  std::string name;    // the cluster's name (default: the MHA app name)
  std::string source;  // "<json file>: clusters[0]" for error messages
  Mode mode = Mode::Approve;
  std::string preferred_master;  // an MHA `hostname`; default: the config's first server
  MhaAppConfig mha;
  SqlAccount admin;        // default: MHA user/password
  SqlAccount replication;  // default: MHA repl_user/repl_password
  SshSettings ssh;
  ClusterCommands commands;
  ValidationSettings validation;
  SqlErrorPolicy sql_error_policy;
  Timeouts timeouts;

  const MhaServer* preferred() const { return mha.find_server(preferred_master); }
};

struct DaemonConfig {
  std::string source;  // the JSON file
  std::string state_dir = "/var/lib/mha-failback";
  std::string log_level = "info";
  std::vector<ClusterConfig> clusters;
};

// One problem found in a configuration file.
struct ConfigError {
  std::string file;
  std::string key;       // "clusters[0].mode" or "[server1] port"
  std::string expected;  // what would have been right, as a sentence fragment
  std::string found;     // what was there (never a secret)

  std::string to_string() const;  // "FILE: KEY: expected EXPECTED, found FOUND"
};

}  // namespace mhafb
